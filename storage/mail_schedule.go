package storage

import (
	"context"
	"fmt"
	"time"
)

// A member's mail schedule: their time zone and the hour of their day
// the daily digest goes out.

// DefaultDigestHour is the hour of the member's day digests go out at
// until they choose another.
const DefaultDigestHour = 8

// NextDigest is the first time after after that it is hour o'clock in
// loc. On a day the clocks skip that hour, it is the first instant after
// the gap; Go's time.Date normalises it so.
func NextDigest(loc *time.Location, hour int, after time.Time) time.Time {
	local := after.In(loc)
	next := time.Date(local.Year(), local.Month(), local.Day(), hour, 0, 0, 0, loc)
	for !next.After(after) {
		local = local.AddDate(0, 0, 1)
		next = time.Date(local.Year(), local.Month(), local.Day(), hour, 0, 0, 0, loc)
	}
	return next.UTC()
}

// SetMailSchedule stores a member's time zone (an IANA name) and digest
// hour, and moves their next digest to match.
func (s *Store) SetMailSchedule(ctx context.Context, accountID ID, zone string, hour int) error {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" || zone == "Local" {
		return invalid("zone", "unknown time zone %q", zone)
	}
	if hour < 0 || hour > 23 {
		return invalid("hour", "an hour is 0 to 23")
	}
	due := NextDigest(loc, hour, time.Now())
	_, err = s.w.NewUpdate().Model((*Account)(nil)).Set("time_zone = ?", zone).Set("digest_hour = ?", hour).
		Set("digest_due_at = CASE WHEN digest_due_at IS NULL THEN NULL ELSE ? END", due).
		Where("id = ? AND domain = ''", accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set mail schedule: %w", err)
	}
	return nil
}

// Location is the member's time zone, UTC when unknown.
func (a *Account) Location() *time.Location {
	if loc, err := time.LoadLocation(a.TimeZone); err == nil && a.TimeZone != "" {
		return loc
	}
	return time.UTC
}
