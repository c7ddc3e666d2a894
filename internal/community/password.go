package community

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password hashing parameters, kept in one place. argon2id with m=46 MiB, t=1,
// p=1 is OWASP's recommended minimum; the parameters are written into every
// encoded hash, so raising them later still verifies the old hashes.
const (
	argonMemoryKiB = 47104 // 46 MiB
	argonTime      = 1
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Password length bounds, in characters. The upper bound keeps a hash request
// from being a cheap way to burn server CPU.
const (
	PasswordMinLen = 8
	PasswordMaxLen = 128
)

// hashSlots bounds concurrent hashes: each one holds 46 MiB, so a burst of
// sign-ins must queue rather than exhaust the machine's memory.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// ValidatePassword checks a new password: 8–128 characters and not one of the
// most common passwords (compared case-insensitively).
func ValidatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < PasswordMinLen:
		return invalid("password", "Use at least %d characters.", PasswordMinLen)
	case n > PasswordMaxLen:
		return invalid("password", "Use at most %d characters.", PasswordMaxLen)
	case commonPassword(pw):
		return invalid("password", "This password is one of the most common ones; choose another.")
	}
	return nil
}

// commonPasswordSet is the workplace list (common_passwords.go) and the
// breached-password corpus (accounts_password.go), lower-cased.
var commonPasswordSet = sync.OnceValue(func() map[string]struct{} {
	breached := breachedPasswords()
	m := make(map[string]struct{}, len(commonPasswords)+len(breached))
	for _, list := range [][]string{commonPasswords, breached} {
		for _, p := range list {
			m[strings.ToLower(p)] = struct{}{}
		}
	}
	return m
})

func commonPassword(pw string) bool {
	_, ok := commonPasswordSet()[strings.ToLower(strings.TrimSpace(pw))]
	return ok
}

// HashPassword returns the argon2id hash of pw in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash) with a fresh random salt.
func HashPassword(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	if err := acquireHashSlot(ctx); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	<-hashSlots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func acquireHashSlot(ctx context.Context) error {
	select {
	case hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errBadHash = errors.New("not an argon2id hash")

// checkPassword reports whether pw matches the encoded hash, comparing in
// constant time with the parameters the hash was made with.
func checkPassword(ctx context.Context, encoded, pw string) (bool, error) {
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil || mem == 0 || iter == 0 || threads == 0 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	if err := acquireHashSlot(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, iter, mem, threads, uint32(len(want)))
	<-hashSlots
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when an email is unknown, so that a wrong email
// costs as much time as a wrong password and sign-in does not reveal who has an
// account.
var dummyHash = sync.OnceValues(func() (string, error) {
	pw := make([]byte, 24)
	_, _ = rand.Read(pw)
	return HashPassword(context.Background(), base64.RawStdEncoding.EncodeToString(pw))
})
