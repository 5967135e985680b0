package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
)

// Node-wide settings, one row per name in the settings table: what an
// admin changes at run time, and secrets every process of the node
// shares.

// Setting names.
const (
	// SettingSiteName and SettingSiteDescription are the admin's edit of
	// the site's name and description; absent, the node's flags apply.
	SettingSiteName        = "site_name"
	SettingSiteDescription = "site_description"
	// settingLinkKey signs links that work without signing in (mail
	// unsubscribe links).
	settingLinkKey = "link_key"
)

// Setting returns a stored setting; ok is false when none is stored.
func (s *Store) Setting(ctx context.Context, name string) (value string, ok bool, err error) {
	err = s.r.NewRaw("SELECT value FROM settings WHERE name = ?", name).Scan(ctx, &value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("setting %s: %w", name, err)
	}
	return value, true, nil
}

// SetSetting stores a setting, replacing what was there.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	_, err := s.w.NewRaw("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
		name, value).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set setting %s: %w", name, err)
	}
	return nil
}

// LinkKey returns the node's key for signed links, made on first use.
// Two processes making it at once agree: the first insert wins and both
// read it back.
func (s *Store) LinkKey(ctx context.Context) ([]byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	_, err := s.w.NewRaw("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
		settingLinkKey, base64.StdEncoding.EncodeToString(raw)).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("store link key: %w", err)
	}
	var v string
	if err := s.w.NewRaw("SELECT value FROM settings WHERE name = ?", settingLinkKey).Scan(ctx, &v); err != nil {
		return nil, fmt.Errorf("read link key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("link key in the settings table is damaged")
	}
	return key, nil
}
