package testfn

import "math/rand"

// JSONStrings are strings that stress a JSON string codec: the characters JSON escapes, control
// characters, multi-byte and invalid UTF-8, U+2028, then n random strings (seeded, so the same
// every run) of up to maxLen bytes weighted towards quotes, backslashes and NULs.
func JSONStrings(n, maxLen int) []string {
	out := []string{"", "plain", `{"a":"b \"q\" \\ /"}`, "tab\tnl\nret\rbs\bff\f", "<html>&amp;</html>", "é€😀\u2028",
		string([]byte{0xff, 0xfe}), "\x00\x01\x1f"}
	rng := rand.New(rand.NewSource(1))
	for range n {
		b := make([]byte, rng.Intn(maxLen))
		for i := range b {
			b[i] = byte(rng.Intn(256))
			if rng.Intn(3) == 0 {
				b[i] = "\"\\/<>&\n\x00a"[rng.Intn(9)]
			}
		}
		out = append(out, string(b))
	}
	return out
}
