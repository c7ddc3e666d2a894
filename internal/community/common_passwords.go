package community

// commonPasswords are among the most used passwords in published breach
// corpora, plus the obvious variations people reach for at work (season + year,
// company123). A new password on this list is refused, whatever its case. Entries
// shorter than PasswordMinLen are refused by length anyway; they stay for a
// future lower minimum.
var commonPasswords = []string{
	"123456", "password", "12345678", "qwerty", "123456789", "12345", "1234", "111111", "1234567", "dragon",
	"123123", "baseball", "abc123", "football", "monkey", "letmein", "696969", "shadow", "master", "666666",
	"qwertyuiop", "123321", "mustang", "1234567890", "michael", "654321", "superman", "1qaz2wsx", "7777777",
	"121212", "000000", "qazwsx", "123qwe", "killer", "trustno1", "jordan", "jennifer", "zxcvbnm", "asdfgh",
	"hunter", "buster", "soccer", "harley", "batman", "andrew", "tigger", "sunshine", "iloveyou", "2000",
	"charlie", "robert", "thomas", "hockey", "ranger", "daniel", "starwars", "klaster", "112233", "george",
	"computer", "michelle", "jessica", "pepper", "1111", "zxcvbn", "555555", "11111111", "131313", "freedom",
	"777777", "pass", "maggie", "159753", "aaaaaa", "ginger", "princess", "joshua", "cheese", "amanda",
	"summer", "love", "ashley", "nicole", "chelsea", "biteme", "matthew", "access", "yankees", "987654321",
	"dallas", "austin", "thunder", "taylor", "matrix", "password1", "password12", "password123", "password1234",
	"passw0rd", "p@ssw0rd", "p@ssword", "pa55word", "pa55w0rd", "letmein1", "letmein123", "welcome", "welcome1",
	"welcome123", "admin", "admin123", "administrator", "root", "toor", "changeme", "changeme123", "default",
	"guest", "qwerty123", "qwerty1", "qwerty12", "qwertyui", "asdfghjkl", "asdfasdf", "zaq12wsx", "1q2w3e4r",
	"1q2w3e4r5t", "1q2w3e4r5t6y", "q1w2e3r4", "q1w2e3r4t5", "abcd1234", "abc12345", "abcdefgh", "12341234",
	"11223344", "12121212", "00000000", "88888888", "99999999", "87654321", "123123123", "1234qwer", "qwer1234",
	"football1", "baseball1", "iloveyou1", "iloveyou2", "princess1", "sunshine1", "monkey123", "dragon123",
	"superman1", "batman123", "starwars1", "trustno12", "whatever", "secret", "secret123", "mypassword",
	"mypass123", "letmeinnow", "computer1", "internet", "samsung", "samsung123", "google", "google123",
	"facebook", "linkedin", "microsoft", "apple123", "master123", "shadow123", "michael1", "jennifer1",
	"jordan23", "football12", "liverpool", "arsenal", "chelsea1", "manchester", "charlie1", "pokemon",
	"pokemon123", "minecraft", "minecraft1", "fortnite", "naruto123", "loveyou", "lovelove", "hello123",
	"helloworld", "hello1234", "test1234", "testtest", "test12345", "temp1234", "temporary", "spring2024",
	"summer2024", "autumn2024", "winter2024", "spring2025", "summer2025", "autumn2025", "winter2025",
	"spring2026", "summer2026", "autumn2026", "winter2026", "company123", "company1", "office123", "password!",
	"password@", "qwerty!@#", "1qaz2wsx3edc", "zxcvbnm1", "zxcvbnm123", "asdf1234", "iloveu123", "babygirl1",
	"butterfly", "flower123", "chocolate", "cookie123", "blink182", "metallica", "mercedes", "ferrari",
	"corvette", "porsche911", "jessica1", "michelle1", "ashley123", "nicole123", "daniel123", "andrew123",
	"robert123", "thomas123",
}
