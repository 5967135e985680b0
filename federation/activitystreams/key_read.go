package activitystreams

// PublishedKey is a public key as a document names it: its owner and PEM.
type PublishedKey struct {
	Owner string
	PEM   string
}

// FindKey finds the key keyID in a fetched document: in its publicKey
// (one object or a list, as actors publish it), or the document itself
// when it is the key (a Key object with owner and publicKeyPem). A
// GoToSocial key stub is the first kind: an object shaped like its owner,
// with only the publicKey. ok is false when the document names no such
// key.
func FindKey(m map[string]any, keyID string) (k PublishedKey, ok bool) {
	if String(m, "id") == keyID && String(m, "owner") != "" {
		return PublishedKey{Owner: String(m, "owner"), PEM: String(m, "publicKeyPem")}, true
	}
	var keys []any
	switch v := m["publicKey"].(type) {
	case map[string]any:
		keys = []any{v}
	case []any:
		keys = v
	}
	for _, e := range keys {
		pk, _ := e.(map[string]any)
		if pk != nil && String(pk, "id") == keyID {
			return PublishedKey{Owner: String(pk, "owner"), PEM: String(pk, "publicKeyPem")}, true
		}
	}
	return PublishedKey{}, false
}
