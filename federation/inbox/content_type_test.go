package inbox

import "testing"

func TestIsActivityContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/activity+json": true,
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`: true,
		`application/ld+json;profile="https://www.w3.org/ns/activitystreams"`:  true,
		"application/ld+json":                    true,
		"application/json; charset=utf-8":        true,
		"Application/Activity+JSON":              true,
		"text/html":                              false,
		"application/activity+json; x":           false, // unparseable parameters
		"application/activity+jsonx":             false,
		"":                                       false,
		"multipart/form-data; boundary=activity": false,
	} {
		if got := isActivityContentType(ct); got != want {
			t.Errorf("%q: %v, want %v", ct, got, want)
		}
	}
}
