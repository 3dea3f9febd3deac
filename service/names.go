package service

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// validName checks a user-chosen name: not empty, no surrounding spaces,
// and text validText accepts.
func validName(what, v string, max int) error {
	switch {
	case v == "":
		return fmt.Errorf("%s is empty", what)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("%s %q has surrounding spaces", what, v)
	}
	return validText(what, v, max)
}

// validText checks user-chosen text that others will read in listings,
// logs and terminals (names, versions, images): at most max bytes of
// UTF-8 without control characters (NUL included), invisible format
// characters (bidi overrides such as U+202E, which make text display as
// something else, zero-width spaces) or line separators. Empty is
// valid.
func validText(what, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%s is %d bytes long, more than %d", what, len(v), max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, v)
	}
	if i := strings.IndexFunc(v, hiddenRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return fmt.Errorf("%s %q contains %U, a control, invisible formatting or line separator character: use visible characters only", what, v, r)
	}
	return nil
}

// hiddenRune reports runes that are not shown as themselves.
func hiddenRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}
