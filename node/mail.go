package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/skein-forum/skein/mail"
)

// MailOffNotice is the warning `skein serve` logs once at start when no
// SMTP server is configured: what members go without.
const MailOffNotice = "mail is off (no --smtp-url or --smtp-host): no address verification, password reset, " +
	"approval or notification mail; members change passwords only through `skein user set-password`"

// prepareMail makes the composer (always: unsubscribe links in mail sent
// earlier keep working while mail is off) and, when mail is on, the
// worker that sends the queue.
func (n *Node) prepareMail(ctx context.Context) (*mail.Composer, error) {
	key, err := n.Store.LinkKey(ctx)
	if err != nil {
		return nil, err
	}
	composer, err := mail.NewComposer(n.URLs, n.siteName, key)
	if err != nil {
		return nil, err
	}
	n.Notices = &mail.NoticeWorker{Store: n.Store, Composer: composer, Off: !n.cfg.Mail.Enabled(),
		Queued: n.notifyMail, Clock: n.cfg.Now, Log: n.log.With("worker", "notification-mail")}
	if !n.cfg.Mail.Enabled() {
		return composer, nil
	}
	cfg := n.cfg.Mail
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	n.Mail = &mail.Worker{Store: n.Store, Config: cfg, Log: n.log.With("worker", "mail"), Observe: n.Metrics.MailAttempt,
		Clock: n.cfg.Now}
	return composer, nil
}

// siteName is the name mail signs with, NodeInfo and the instance actor
// give: the web view's, which follows an admin's edit.
func (n *Node) siteName() string {
	if n.Web != nil {
		return n.Web.SiteName()
	}
	if n.cfg.SiteName != "" {
		return n.cfg.SiteName
	}
	return n.URLs.Host()
}

// siteDescription is the site's description as its pages show it.
func (n *Node) siteDescription() string {
	if n.Web != nil {
		return n.Web.SiteDescription()
	}
	return n.cfg.SiteDescription
}

// adminCommand is the command that creates the first admin.
func (n *Node) adminCommand() string {
	if n.cfg.AdminCommand != "" {
		return n.cfg.AdminCommand
	}
	return "skein user create NAME --admin"
}

func (n *Node) notifyMail() {
	if n.Mail != nil {
		n.Mail.Notify()
	}
}

// startMail runs the mail worker (when mail is on), the worker that
// turns notifications into mail (always: with mail off it only marks
// them looked at) and the sweeper of expired tokens and rate-limit
// windows.
func (n *Node) startMail(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() { n.sweepAccountState(ctx) })
	wg.Go(func() { n.Notices.Run(ctx) })
	if n.Mail == nil {
		return
	}
	if n.Store.Dialect() == dialect.SQLite {
		// One process owns a SQLite queue: leases left now are from a
		// process that died.
		if k, err := n.Store.ReleaseAllMail(ctx, time.Now()); err != nil {
			n.log.Error("release orphaned mail", "err", err)
		} else if k > 0 {
			n.log.Info("resumed mail of a previous run", "messages", k)
		}
	}
	n.log.Info("mail is on", "server", n.cfg.Mail.String(), "from", n.cfg.Mail.From)
	wg.Go(func() { n.watchMailQueue(ctx) })
	wg.Go(func() {
		if err := n.Mail.Run(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("mail worker stopped", "err", err)
		}
	})
}

// sweepAccountState deletes expired account tokens and ended rate-limit
// windows once an hour; any process may, and several doing it at once
// only delete the same rows.
func (n *Node) sweepAccountState(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if _, err := n.Store.SweepAccountTokens(ctx, now); err != nil && ctx.Err() == nil {
			n.log.Warn("sweep account tokens", "err", err)
		}
		if _, err := n.Store.SweepRateLimits(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			n.log.Warn("sweep rate limits", "err", err)
		}
	}
}

// watchMailQueue keeps the mail queue's depth current for /metrics.
func (n *Node) watchMailQueue(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		if waiting, _, err := n.Store.CountQueuedMail(ctx); err == nil {
			n.Metrics.SetQueueDepth(QueueMail, waiting)
		} else if ctx.Err() == nil {
			n.log.Warn("mail queue depth", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
