package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/skein-forum/skein/storage"
)

// A refusal reaches the person who typed the input through errors.As,
// never by cutting text out of an error: the web shows Invalid.Msg beside
// the form, and ErrInvalid still answers errors.Is.
func TestInvalidIsFoundAndKeepsItsMessage(t *testing.T) {
	err := error(&storage.Invalid{Field: "title", Msg: "the title is empty"})
	wrapped := errors.Join(errors.New("create thread"), err)
	var inv *storage.Invalid
	if !errors.As(wrapped, &inv) || inv.Field != "title" || inv.Msg != "the title is empty" {
		t.Fatalf("errors.As found %+v", inv)
	}
	if !errors.Is(wrapped, storage.ErrInvalid) || errors.Is(wrapped, storage.ErrForbidden) {
		t.Fatal("an Invalid must be ErrInvalid and only that")
	}
	if !errors.Is(&storage.Forbidden{Msg: "no"}, storage.ErrForbidden) {
		t.Fatal("a Forbidden must be ErrForbidden")
	}
}

// Storage refuses input with an Invalid (the unexported invalid helper),
// not by wrapping ErrInvalid in text: a refusal written as text reaches a
// member as a general "not accepted" instead of its own message.
func TestRefusalsAreInvalidValues(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// A sentinel (var ErrX = fmt.Errorf(..., ErrInvalid)) is no refusal
	// of anyone's input, and stays.
	// Nor is an error that wraps another (two %w): a fault marked as
	// bad input for the retry logic, not a message for anyone.
	textual := regexp.MustCompile(`fmt\.Errorf\("([^"]*%w[^"]*)",\s*ErrInvalid`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, loc := range textual.FindAllSubmatchIndex(src, -1) {
			start := strings.LastIndexByte(string(src[:loc[0]]), '\n') + 1
			if strings.HasPrefix(strings.TrimSpace(string(src[start:loc[0]])), "var ") ||
				strings.Count(string(src[loc[2]:loc[3]]), "%w") > 1 {
				continue
			}
			line := 1 + strings.Count(string(src[:loc[0]]), "\n")
			t.Errorf("%s:%d: refuse with invalid(field, message), which the web shows as typed, not with ErrInvalid in text", f, line)
		}
	}
}
