package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skein-forum/skein/storage"
)

// The moderation commands: every action of the admin pages, for scripts.
// Actions taken here are audited as the operator's.

// adminCommand parses flags (with the database flags) and exactly
// nargs positional arguments, then opens the store.
func adminCommand(ctx context.Context, name, usage string, args []string, stdout io.Writer, nargs int,
	flags func(f *flagSet)) (*storage.Store, []string, error) {
	var db dbFlags
	f := newFlagSet(name, usage, stdout)
	db.registerAdmin(f)
	if flags != nil {
		flags(f)
	}
	if err := f.parse(args); err != nil {
		return nil, nil, err
	}
	if len(f.Args()) != nargs {
		return nil, nil, fmt.Errorf("%w: want %d argument(s), got %d (run 'skein %s --help')", errUsage, nargs, len(f.Args()), name)
	}
	s, err := db.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return s, f.Args(), nil
}

// subcommand splits "SUB rest..." and handles help.
func subcommand(args []string, usage string, stdout io.Writer, known ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("%w: missing subcommand: %s", errUsage, strings.Join(known, ", "))
	}
	sub := args[0]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, "Usage: "+usage)
		return "", nil, errHelp
	}
	for _, k := range known {
		if k == sub {
			return sub, args[1:], nil
		}
	}
	return "", nil, fmt.Errorf("%w: unknown subcommand %q: %s", errUsage, sub, strings.Join(known, ", "))
}

func runDomain(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	const usage = "skein domain block HOST --severity silence|suspend [--reason R] [--note N]\n" +
		"       skein domain unblock HOST\n       skein domain list\n" +
		"       skein domain allow HOST | disallow HOST   (the allow list of --federation allowlist)"
	sub, args, err := subcommand(args, usage, stdout, "block", "unblock", "list", "allow", "disallow")
	if err != nil {
		return err
	}
	var severity, reason, note string
	nargs := 1
	if sub == "list" {
		nargs = 0
	}
	s, pos, err := adminCommand(ctx, "domain "+sub, usage, args, stdout, nargs, func(f *flagSet) {
		if sub == "block" {
			f.String(&severity, "severity", "", "silence or suspend (required)")
			f.String(&reason, "reason", "", "the public reason")
			f.String(&note, "note", "", "a private note for moderators")
		}
	})
	if err != nil {
		return err
	}
	defer s.Close()
	switch sub {
	case "block":
		if err := s.BlockDomain(ctx, storage.Operator, storage.DomainBlock{Host: pos[0], Severity: severity, PublicReason: reason, PrivateNote: note}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "blocked %s (%s)\n", pos[0], severity)
	case "unblock":
		if err := s.UnblockDomain(ctx, storage.Operator, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "unblocked %s\n", pos[0])
	case "allow":
		if err := s.AllowDomain(ctx, storage.Operator, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "allowed %s\n", pos[0])
	case "disallow":
		if err := s.DisallowDomain(ctx, storage.Operator, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from the allow list\n", pos[0])
	case "list":
		blocks, err := s.ListDomainBlocks(ctx)
		if err != nil {
			return err
		}
		allows, err := s.ListDomainAllows(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tPOLICY\tSINCE\tPUBLIC REASON\tPRIVATE NOTE")
		for _, b := range blocks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.Host, b.Severity, b.CreatedAt.Format("2006-01-02"), b.PublicReason, b.PrivateNote)
		}
		for _, a := range allows {
			fmt.Fprintf(tw, "%s\tallow\t%s\t\t\n", a.Host, a.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	}
	return nil
}

// runUserModeration is `skein user suspend|unsuspend|silence|unsilence|
// role|approve|reject NAME`; NAME may be a remote actor's name@host.
func runUserModeration(ctx context.Context, sub string, args []string, stdout io.Writer) error {
	const usage = "skein user suspend|unsuspend|silence|unsilence|approve|reject NAME\n       skein user role NAME member|moderator|admin\n" +
		"NAME is a member's handle, or name@host for a remote actor (suspend, silence)."
	nargs := 1
	if sub == "role" {
		nargs = 2
	}
	s, pos, err := adminCommand(ctx, "user "+sub, usage, args, stdout, nargs, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := s.AccountByAcct(ctx, pos[0])
	if err != nil {
		return err
	}
	switch sub {
	case "suspend", "unsuspend":
		err = s.SuspendAccount(ctx, storage.Operator, a.ID, sub == "suspend")
	case "silence", "unsilence":
		err = s.SilenceAccount(ctx, storage.Operator, a.ID, sub == "silence")
	case "approve":
		err = s.ApproveMember(ctx, storage.Operator, a.ID, nil)
	case "reject":
		err = s.RejectMember(ctx, storage.Operator, a.ID)
	case "role":
		err = s.ChangeRole(ctx, storage.Operator, a.ID, pos[1])
	}
	if err != nil {
		return err
	}
	past := map[string]string{"suspend": "suspended", "unsuspend": "unsuspended", "silence": "silenced",
		"unsilence": "unsilenced", "approve": "approved", "reject": "rejected", "role": "changed the role of"}[sub]
	if sub == "role" {
		fmt.Fprintf(stdout, "%s %s to %s\n", past, a.Acct(), pos[1])
	} else {
		fmt.Fprintf(stdout, "%s %s\n", past, a.Acct())
	}
	return nil
}

// runForumEdit is `skein forum edit SLUG [--title] [--description]
// [--position]`: flags not given keep their value.
func runForumEdit(ctx context.Context, args []string, stdout io.Writer) error {
	const usage = "skein forum edit SLUG [--title T] [--description D] [--position N]"
	var title, description, position string
	s, pos, err := adminCommand(ctx, "forum edit", usage, args, stdout, 1, func(f *flagSet) {
		f.String(&title, "title", "", "new title")
		f.String(&description, "description", "\x00", "new description")
		f.String(&position, "position", "", "new position on the home page")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	fo, err := s.ForumBySlug(ctx, pos[0])
	if err != nil {
		return err
	}
	if title == "" {
		title = fo.Title
	}
	if description == "\x00" {
		description = fo.Description
	}
	p := fo.Position
	if position != "" {
		if p, err = strconv.Atoi(position); err != nil {
			return fmt.Errorf("%w: --position %q: want a whole number", errUsage, position)
		}
	}
	if err := s.UpdateForum(ctx, storage.Operator, fo.ID, title, description, p); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "updated forum %s (%s, position %d)\n", fo.Slug, title, p)
	return nil
}

func runThread(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	const usage = "skein thread move THREAD FORUM\nTHREAD is the id in the thread's address (/t/ID); FORUM is a forum's slug."
	if _, _, err := subcommand(args, usage, stdout, "move"); err != nil {
		return err
	}
	s, pos, err := adminCommand(ctx, "thread move", usage, args[1:], stdout, 2, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := storage.ParseID(strings.TrimPrefix(pos[0], "t."))
	if err != nil {
		return fmt.Errorf("%w: %q is not a thread id", errUsage, pos[0])
	}
	fo, err := s.ForumBySlug(ctx, pos[1])
	if err != nil {
		return err
	}
	if err := s.MoveThread(ctx, storage.Operator, id, fo.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "moved thread %s to %s\n", id, fo.Slug)
	return nil
}

func runReport(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	const usage = "skein report list [--status open|dismissed|resolved]\n" +
		"       skein report resolve ID --action dismiss|delete|suspend|forward"
	sub, args, err := subcommand(args, usage, stdout, "list", "resolve")
	if err != nil {
		return err
	}
	var status, action string
	nargs := 0
	if sub == "resolve" {
		nargs = 1
	}
	s, pos, err := adminCommand(ctx, "report "+sub, usage, args, stdout, nargs, func(f *flagSet) {
		if sub == "list" {
			f.String(&status, "status", storage.ReportOpen, "which reports: open, dismissed or resolved")
		} else {
			f.String(&action, "action", "", "dismiss, delete (the post), suspend (the author) or forward (to the author's server)")
		}
	})
	if err != nil {
		return err
	}
	defer s.Close()
	if sub == "resolve" {
		id, err := storage.ParseID(pos[0])
		if err != nil {
			return fmt.Errorf("%w: %q is not a report id", errUsage, pos[0])
		}
		if action == "forward" {
			err = s.ForwardReport(ctx, storage.Operator, id)
		} else {
			err = s.ResolveReport(ctx, storage.Operator, id, action)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report %s: %s\n", id, action)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tREPORTER\tABOUT\tPOST\tREASON")
	var after storage.ID
	for {
		page, err := s.ListReports(ctx, status, after, 200)
		if err != nil {
			return err
		}
		for _, r := range page {
			post := "-"
			if r.PostID != nil {
				post = r.PostID.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedAt.Format(time.DateTime), r.Status,
				acctOf(r.Reporter), acctOf(r.Account), post, oneLine(r.Reason))
			after = r.ID
		}
		if len(page) < 200 {
			break
		}
	}
	return tw.Flush()
}

func runAudit(ctx context.Context, args []string, _ io.Reader, stdout io.Writer) error {
	const usage = "skein audit [--limit N]   (newest first)"
	var limit string
	s, _, err := adminCommand(ctx, "audit", usage, args, stdout, 0, func(f *flagSet) {
		f.String(&limit, "limit", "50", "how many entries")
	})
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := strconv.Atoi(limit)
	if err != nil || n < 1 {
		return fmt.Errorf("%w: --limit %q: want a positive number", errUsage, limit)
	}
	entries, err := s.ListAudit(ctx, 0, n)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHO\tACTION\tTARGET\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\n", e.CreatedAt.Format(time.DateTime), e.ActorName(), e.Action,
			e.TargetKind, e.TargetID, oneLine(e.Detail))
	}
	return tw.Flush()
}

func acctOf(a *storage.Account) string {
	if a == nil {
		return "?"
	}
	return a.Acct()
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
