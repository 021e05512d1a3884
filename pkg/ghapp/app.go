package ghapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/go-github/v60/github"
)

// Installation reads an installation with the App JWT (ErrNotFound when it does not
// exist).
func (c *Client) Installation(ctx context.Context, installationID int64) (Installation, error) {
	var in *github.Installation
	err := c.retry(ctx, opInstallation, readPolicy, func(ctx context.Context) error {
		var err error
		in, _, err = c.app.Apps.GetInstallation(ctx, installationID)
		return err
	})
	if err != nil {
		err = fmt.Errorf("installation %d: %w", installationID, err)
		c.audit(ctx, "installation_read", installationID, "", err)
		return Installation{}, err
	}
	out := installationOf(in)
	c.audit(ctx, "installation_read", installationID, "", nil, slog.String("account", out.AccountLogin))
	return out, nil
}

// Installations lists all installations of the App (all pages).
func (c *Client) Installations(ctx context.Context) ([]Installation, error) {
	return c.listInstallations(ctx, opInstallations, "installations_listed", "app installations", c.app.Apps.ListInstallations)
}

// listInstallations reads every page of a list of installations with list, as the
// operation op, and audits the listing as event.
func (c *Client) listInstallations(ctx context.Context, op, event, what string,
	list func(context.Context, *github.ListOptions) ([]*github.Installation, *github.Response, error)) ([]Installation, error) {
	out, err := allPages(ctx, func(ctx context.Context, opts *github.ListOptions) ([]Installation, *github.Response, error) {
		var page []*github.Installation
		var resp *github.Response
		err := c.retry(ctx, op, readPolicy, func(ctx context.Context) error {
			var err error
			page, resp, err = list(ctx, opts)
			return err
		})
		return installationsOf(page), resp, err
	})
	if err != nil {
		err = fmt.Errorf("%s: %w", what, err)
		c.audit(ctx, event, 0, "", err)
		return nil, err
	}
	c.audit(ctx, event, 0, "", nil, slog.Int("count", len(out)))
	return out, nil
}

// HookDeliveries lists the App's webhook delivery attempts delivered at or after since,
// newest first, following GitHub's cursor pagination (100 per page) until it reaches
// older attempts.
func (c *Client) HookDeliveries(ctx context.Context, since time.Time) ([]HookDelivery, error) {
	var out []HookDelivery
	opts := &github.ListCursorOptions{PerPage: 100}
	for {
		var page []*github.HookDelivery
		var resp *github.Response
		err := c.retry(ctx, opDeliveries, readPolicy, func(ctx context.Context) error {
			var err error
			page, resp, err = c.app.Apps.ListHookDeliveries(ctx, opts)
			return err
		})
		if err != nil {
			err = fmt.Errorf("hook deliveries: %w", err)
			c.audit(ctx, "hook_deliveries_listed", 0, "", err)
			return nil, err
		}
		older := false
		for _, d := range page {
			at := d.GetDeliveredAt().Time
			if at.Before(since) {
				older = true
				continue
			}
			out = append(out, HookDelivery{
				ID:             d.GetID(),
				GUID:           d.GetGUID(),
				DeliveredAt:    at.UTC(),
				Redelivery:     d.GetRedelivery(),
				Status:         d.GetStatus(),
				StatusCode:     d.GetStatusCode(),
				Event:          d.GetEvent(),
				Action:         d.GetAction(),
				InstallationID: d.GetInstallationID(),
				RepositoryID:   d.GetRepositoryID(),
			})
		}
		if older || resp.Cursor == "" {
			break
		}
		opts.Cursor = resp.Cursor
	}
	c.audit(ctx, "hook_deliveries_listed", 0, "", nil, slog.Int("count", len(out)), slog.Time("since", since))
	return out, nil
}

// Redeliver asks GitHub to deliver a webhook delivery again (202 Accepted).
func (c *Client) Redeliver(ctx context.Context, deliveryID int64) error {
	err := c.retry(ctx, opRedeliver, writePolicy, func(ctx context.Context) error {
		_, _, err := c.app.Apps.RedeliverHookDelivery(ctx, deliveryID)
		var accepted *github.AcceptedError
		if errors.As(err, &accepted) {
			return nil
		}
		return err
	})
	if err != nil {
		err = fmt.Errorf("redeliver %d: %w", deliveryID, err)
	}
	c.audit(ctx, "delivery_redelivered", 0, "", err, slog.Int64("delivery_id", deliveryID))
	return err
}
