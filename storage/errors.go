package storage

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Wrapped errors keep them reachable with
// errors.Is; [Invalid] and [Forbidden] also carry a message for the
// person who acted, found with errors.As.
var (
	ErrNotFound  = errors.New("not found")
	ErrNameTaken = errors.New("name already taken")
	ErrLocked    = errors.New("thread is locked")
	// ErrInvalid is what every [Invalid] is: errors.Is(err, ErrInvalid)
	// asks whether the input was refused, whatever the reason.
	ErrInvalid = errors.New("invalid input")
	// ErrReserved is a name no member or forum may take (a path, a role
	// word); it is also an ErrNameTaken, for callers that need not tell
	// the two apart.
	ErrReserved error = reservedError{}
	// ErrForbidden is what every [Forbidden] is: the one acting may not
	// do this (a moderator acting on an administrator).
	ErrForbidden = errors.New("not allowed")
	// ErrRepeatActivity is an inbox activity whose id is stored already
	// ([Store.CreateInboxPosts]): applied or refused before, it is not
	// applied again.
	ErrRepeatActivity = errors.New("inbox activity stored already")
)

type reservedError struct{}

func (reservedError) Error() string        { return "that name is reserved" }
func (reservedError) Is(target error) bool { return target == ErrNameTaken }

// Invalid is input the store refused. Msg is written for the person who
// typed it (a lower-case clause without a full stop: "the title is
// empty"), so a form can show it beside Field with the typed text kept;
// it never carries internal detail. Field names the input at fault in
// the store's terms ("title", "body", "slug"), or is empty when the input
// as a whole is refused.
type Invalid struct {
	Field string
	Msg   string
}

func (e *Invalid) Error() string        { return ErrInvalid.Error() + ": " + e.Msg }
func (e *Invalid) Is(target error) bool { return target == ErrInvalid }

// invalid refuses field's input with a message fit to show its author.
func invalid(field, format string, args ...any) error {
	return &Invalid{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Forbidden refuses an action of someone who may not take it; Msg says
// why, written for them (a lower-case clause without a full stop).
type Forbidden struct {
	Msg string
}

func (e *Forbidden) Error() string        { return ErrForbidden.Error() + ": " + e.Msg }
func (e *Forbidden) Is(target error) bool { return target == ErrForbidden }
