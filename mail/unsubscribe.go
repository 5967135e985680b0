package mail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/skein-forum/skein/storage"
)

// Unsubscribe links work without signing in, from any mail client, for
// as long as the mail is kept: the token names the member and what they
// stop receiving, signed with the node's link key, so nothing is stored
// per mail and every process can check it.

// UnsubscribeURL is the link that stops the mail of scope for a member.
func (c *Composer) UnsubscribeURL(accountID storage.ID, scope string) string {
	return c.urls.Abs(UnsubscribePath + signUnsubscribe(c.key, accountID, scope))
}

func signUnsubscribe(key []byte, accountID storage.ID, scope string) string {
	payload := accountID.String() + "." + scope
	return payload + "." + unsubscribeMAC(key, payload)
}

func unsubscribeMAC(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("unsubscribe:" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// ParseUnsubscribe checks an unsubscribe token and returns whom and what
// it is for.
func ParseUnsubscribe(key []byte, token string) (accountID storage.ID, scope string, ok bool) {
	if len(token) > 200 {
		return 0, "", false
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return 0, "", false
	}
	payload, mac := token[:i], token[i+1:]
	if !hmac.Equal([]byte(mac), []byte(unsubscribeMAC(key, payload))) {
		return 0, "", false
	}
	idText, scope, found := strings.Cut(payload, ".")
	if !found {
		return 0, "", false
	}
	id, err := storage.ParseID(idText)
	if err != nil {
		return 0, "", false
	}
	return id, scope, true
}

// ParseUnsubscribe checks an unsubscribe token made by this node.
func (c *Composer) ParseUnsubscribe(token string) (accountID storage.ID, scope string, ok bool) {
	return ParseUnsubscribe(c.key, token)
}
