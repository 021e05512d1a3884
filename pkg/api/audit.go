package api

import (
	"context"
	"log/slog"
)

// audit writes the one structured line of an App interaction: audit=true, the action,
// the user (RepoTrackr subject) when known, the outcome (ok, refused, error) and details
// such as installation_id, repo or reason. Callers never pass tokens, codes or secrets.
func (a *API) audit(ctx context.Context, action, user, outcome string, attrs ...slog.Attr) {
	all := make([]slog.Attr, 0, len(attrs)+4)
	all = append(all, slog.Bool("audit", true), slog.String("action", action))
	if user != "" {
		all = append(all, slog.String("user", user))
	}
	all = append(all, slog.String("outcome", outcome))
	all = append(all, attrs...)
	a.log.LogAttrs(ctx, slog.LevelInfo, "audit "+action, all...)
}
