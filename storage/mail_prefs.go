package storage

import (
	"context"
	"fmt"
)

// What an unsubscribe link stops. Mail about the account itself (address
// verification, password reset, a changed address) has no such link: it
// is sent only when the member acts or must know.
const (
	// UnsubscribeApplications: an admin stops mail about registrations
	// waiting for approval.
	UnsubscribeApplications = "applications"
)

// UnsubscribeScopes names what each scope stops, for the confirmation
// page.
var UnsubscribeScopes = map[string]string{
	UnsubscribeApplications: "mail about registrations waiting for approval",
}

// Unsubscribe stops the mail of scope for a member.
func (s *Store) Unsubscribe(ctx context.Context, accountID ID, scope string) error {
	var err error
	switch scope {
	case UnsubscribeApplications:
		_, err = s.w.NewUpdate().Model((*Account)(nil)).Set("mail_applications = ?", false).
			Where("id = ? AND domain = ''", accountID).Exec(ctx)
	default:
		return invalid("scope", "unknown mail scope %q", scope)
	}
	if err != nil {
		return fmt.Errorf("unsubscribe %s from %s: %w", accountID, scope, err)
	}
	return nil
}

// SetMailApplications turns an admin's mail about registrations on or
// off (the settings page).
func (s *Store) SetMailApplications(ctx context.Context, accountID ID, on bool) error {
	_, err := s.w.NewUpdate().Model((*Account)(nil)).Set("mail_applications = ?", on).
		Where("id = ? AND domain = ''", accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set application mail: %w", err)
	}
	return nil
}
