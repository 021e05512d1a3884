package api

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

var resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
</body></html>
`))

func renderResult(title, message string) []byte {
	var b bytes.Buffer
	// The template and its data are fixed strings; executing it cannot fail.
	_ = resultPage.Execute(&b, struct{ Title, Message string }{title, message})
	return b.Bytes()
}

func errorPage(status int, reason string) []byte {
	return renderResult(http.StatusText(status), "The request was refused: "+reason+".")
}

// htmlResponse answers a page. formAction, when set, is the only place its forms may post
// to. No referrer leaves the page: the URL that led to it may hold a code and a state.
func htmlResponse(status int, body []byte, formAction string) events.APIGatewayV2HTTPResponse {
	csp := "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	if formAction != "" {
		csp += "; form-action " + formAction
	} else {
		csp += "; form-action 'none'"
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Cache-Control":           "no-store",
			"Content-Security-Policy": csp,
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
		},
		Body: string(body),
	}
}
