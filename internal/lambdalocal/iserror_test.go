package lambdalocal

import "testing"

func TestIsErrorPayload(t *testing.T) {
	for in, want := range map[string]bool{
		`{"errorMessage":"x","errorType":"T"}`:                   true,
		` {"errorType":"T","errorMessage":"x","stackTrace":[]} `: true,
		`{"errorMessage":"x","statusCode":200}`:                  false,
		`{"statusCode":200,"errorMessage":"x"}`:                  false,
		`{"errorType":"T"}`:                                      false,
		`{"errorMessage":"x"} {}`:                                false,
		`{"errorMessage":"x"`:                                    false,
		`{"errorMessage":x}`:                                     false,
		`["errorMessage"]`:                                       false,
		`"errorMessage"`:                                         false,
		``:                                                       false,
	} {
		if got := isErrorPayload([]byte(in)); got != want {
			t.Errorf("isErrorPayload(%s) = %v, want %v", in, got, want)
		}
	}
}
