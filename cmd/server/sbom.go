package main

// server sbom prints a CycloneDX 1.5 software bill of materials of this very
// binary (ASVS 15.1.2). It is built from the module list the Go linker wrote
// into the executable (runtime/debug.ReadBuildInfo), not from go.mod, so it
// names exactly what was compiled in, and from the front-end files embedded
// under web/static/vendor. The structs are hand-built: the format is small and
// a CycloneDX library would be one more component to account for.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/nodecommunity/nodecommunity/web/static"
)

type cdxBOM struct {
	BOMFormat   string         `json:"bomFormat"`
	SpecVersion string         `json:"specVersion"`
	Version     int            `json:"version"`
	Metadata    cdxMetadata    `json:"metadata"`
	Components  []cdxComponent `json:"components"`
}

type cdxMetadata struct {
	Tools      cdxTools      `json:"tools"`
	Component  cdxComponent  `json:"component"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxTools struct {
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	Type        string        `json:"type"`
	BOMRef      string        `json:"bom-ref,omitempty"`
	Group       string        `json:"group,omitempty"`
	Name        string        `json:"name"`
	Version     string        `json:"version,omitempty"`
	Description string        `json:"description,omitempty"`
	Scope       string        `json:"scope,omitempty"`
	Hashes      []cdxHash     `json:"hashes,omitempty"`
	Licenses    []cdxLicense  `json:"licenses,omitempty"`
	PURL        string        `json:"purl,omitempty"`
	Properties  []cdxProperty `json:"properties,omitempty"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxLicense struct {
	License cdxLicenseID `json:"license"`
}

type cdxLicenseID struct {
	ID string `json:"id"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// vendoredPackages maps the name prefix of a file under web/static/vendor to
// its npm package and licence. The version is read from the embedded file's
// name (htmx-2.0.11.min.js), so a bump that forgets this table still reports
// the right version; the licences are the LICENSE-* files beside them, which
// the binary does not embed (TestSBOMCommand checks the two agree).
var vendoredPackages = map[string]struct{ npm, license string }{
	"htmx":         {"htmx.org", "0BSD"},
	"htmx-ext-sse": {"htmx-ext-sse", "0BSD"},
}

func sbomCmd(args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return fmt.Errorf("sbom takes no arguments: %w", errUsage)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("sbom: the binary carries no build information (built without module support)")
	}
	bom, err := buildSBOM(bi, static.FS)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(bom)
}

// buildSBOM leaves out serialNumber and timestamp on purpose: without them the
// document is a pure function of the binary, so two runs on the same build
// compare equal and a diff between releases shows only real changes.
func buildSBOM(bi *debug.BuildInfo, assets fs.FS) (cdxBOM, error) {
	mainVersion := bi.Main.Version
	if mainVersion == "" {
		mainVersion = "(devel)"
	}
	bom := cdxBOM{
		BOMFormat:   "CycloneDX",
		SpecVersion: "1.5",
		Version:     1,
		Metadata: cdxMetadata{
			Tools: cdxTools{Components: []cdxComponent{{
				Type: "application", Name: "server sbom", Version: mainVersion,
				Description: "Node Community's own generator, from runtime/debug.ReadBuildInfo",
			}}},
			Component: cdxComponent{
				Type:    "application",
				BOMRef:  golangPURL(bi.Main.Path, mainVersion),
				Name:    bi.Main.Path,
				Version: mainVersion,
				PURL:    golangPURL(bi.Main.Path, mainVersion),
			},
			Properties: []cdxProperty{{Name: "go:path", Value: bi.Path}},
		},
	}
	// Build settings (GOOS, GOARCH, CGO_ENABLED, -trimpath, vcs.revision …)
	// say which of the possible binaries of this source this one is.
	for _, s := range bi.Settings {
		bom.Metadata.Properties = append(bom.Metadata.Properties, cdxProperty{Name: "go:build:" + s.Key, Value: s.Value})
	}

	// The standard library and runtime are compiled in too, at the toolchain's version.
	bom.Components = append(bom.Components, cdxComponent{
		Type: "library", BOMRef: golangPURL("std", bi.GoVersion), Name: "std", Version: bi.GoVersion,
		Description: "Go standard library and runtime", Scope: "required", PURL: golangPURL("std", bi.GoVersion),
	})
	for _, dep := range bi.Deps {
		m := dep
		var props []cdxProperty
		if dep.Replace != nil {
			// The code compiled in is the replacement's; keep the original name as a note.
			props = append(props, cdxProperty{Name: "go:replaces", Value: dep.Path + "@" + dep.Version})
			m = dep.Replace
		}
		if m.Sum != "" {
			// h1: is Go's dirhash (SHA-256 over the module's file list), not a
			// hash of one file, so it goes in a property rather than in hashes,
			// where a reader would take it for the SHA-256 of an archive.
			props = append(props, cdxProperty{Name: "go:sum", Value: m.Sum})
		}
		bom.Components = append(bom.Components, cdxComponent{
			Type: "library", BOMRef: golangPURL(m.Path, m.Version), Name: m.Path, Version: m.Version,
			Scope: "required", PURL: golangPURL(m.Path, m.Version), Properties: props,
		})
	}

	vendored, err := vendoredComponents(assets)
	if err != nil {
		return cdxBOM{}, err
	}
	bom.Components = append(bom.Components, vendored...)
	return bom, nil
}

// vendoredComponents lists the embedded files under vendor/ with the SHA-256
// of the bytes actually served.
func vendoredComponents(assets fs.FS) ([]cdxComponent, error) {
	names, err := fs.Glob(assets, "vendor/*.min.js")
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	var out []cdxComponent
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".min.js")
		i := strings.LastIndex(base, "-")
		if i < 0 {
			return nil, fmt.Errorf("sbom: vendored file %s has no version in its name", name)
		}
		prefix, version := base[:i], base[i+1:]
		pkg, ok := vendoredPackages[prefix]
		if !ok {
			return nil, fmt.Errorf("sbom: vendored file %s is not in the package table", name)
		}
		b, err := fs.ReadFile(assets, name)
		if err != nil {
			return nil, fmt.Errorf("sbom: %w", err)
		}
		sum := sha256.Sum256(b)
		purl := "pkg:npm/" + pkg.npm + "@" + version
		out = append(out, cdxComponent{
			Type: "library", BOMRef: purl, Name: pkg.npm, Version: version, Scope: "required",
			Hashes:     []cdxHash{{Alg: "SHA-256", Content: hex.EncodeToString(sum[:])}},
			Licenses:   []cdxLicense{{License: cdxLicenseID{ID: pkg.license}}},
			PURL:       purl,
			Properties: []cdxProperty{{Name: "file", Value: "web/static/" + name}},
		})
	}
	slices.SortFunc(out, func(a, b cdxComponent) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// golangPURL is the package URL of a Go module: the path's segments are
// percent-encoded one by one (a module path may hold characters a purl must
// escape), the slashes between them kept.
func golangPURL(modPath, version string) string {
	segs := strings.Split(modPath, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	// "(devel)" is a build from a working tree, not a version anyone could fetch.
	if version != "" && version != "(devel)" {
		p += "@" + url.PathEscape(version)
	}
	return p
}
