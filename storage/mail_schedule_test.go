package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skein-forum/skein/storage"
	"github.com/skein-forum/skein/storage/storagetest"
)

func TestNextDigest(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		hour        int
		after, want string
	}{
		{8, "2026-12-06T06:00:00Z", "2026-12-06T07:00:00Z"}, // 07:00 in Paris: later today
		{8, "2026-12-06T07:00:00Z", "2026-12-07T07:00:00Z"}, // exactly 08:00: the next day
		{8, "2026-12-06T22:30:00Z", "2026-12-07T07:00:00Z"}, // past midnight in Paris already
		{8, "2026-07-01T12:00:00Z", "2026-07-02T06:00:00Z"}, // summer time
		{2, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"}, // 02:00 is skipped: the first instant after the gap
	}
	for _, c := range cases {
		if got := storage.NextDigest(paris, c.hour, at(c.after)); !got.Equal(at(c.want)) {
			t.Errorf("hour %d after %s: %s, want %s", c.hour, c.after, got.Format(time.RFC3339), c.want)
		}
	}
}

func TestSetMailSchedule(t *testing.T) {
	s := storagetest.Open(t, "sqlite")
	ctx := context.Background()
	fx := storagetest.Seed(t, s)
	if fx.Alice.TimeZone != "UTC" || fx.Alice.DigestHour != storage.DefaultDigestHour {
		t.Errorf("defaults: %q %d", fx.Alice.TimeZone, fx.Alice.DigestHour)
	}
	for _, bad := range []struct {
		zone string
		hour int
	}{{"Mars/Olympus", 8}, {"", 8}, {"Local", 8}, {"UTC", 24}, {"UTC", -1}} {
		if err := s.SetMailSchedule(ctx, fx.Alice.ID, bad.zone, bad.hour); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("%q at %d: %v, want ErrInvalid", bad.zone, bad.hour, err)
		}
	}
	if err := s.SetMailSchedule(ctx, fx.Alice.ID, "Asia/Tokyo", 21); err != nil {
		t.Fatal(err)
	}
	a, _ := s.AccountByID(ctx, fx.Alice.ID)
	if a.TimeZone != "Asia/Tokyo" || a.DigestHour != 21 || a.Location().String() != "Asia/Tokyo" {
		t.Errorf("stored %q %d", a.TimeZone, a.DigestHour)
	}
}
