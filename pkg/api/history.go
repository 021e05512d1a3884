package api

import (
	"net/http"

	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/httpapi"
)

var errHistoryUnavailable = httpapi.Fail(http.StatusServiceUnavailable, "delivery history not available", nil)

// history hands the delivery history routes to their own handler; the router has
// already checked the caller.
func (a *API) history(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	if a.cfg.History == nil {
		return events.APIGatewayV2HTTPResponse{}, errHistoryUnavailable
	}
	return a.cfg.History(ctx, *r.req)
}
