// The API service of RepoTrackr.
module github.com/example/tracker

go 1.24.0

toolchain go1.24.4

godebug default=go1.21

require (
	github.com/aws/aws-lambda-go v1.47.0
	github.com/google/go-github/v60 v60.0.0
	github.com/yuin/goldmark v1.7.8
	golang.org/x/mod v0.22.0 // pinned for modfile
)

require (
	github.com/google/go-querystring v1.1.0 // indirect
	golang.org/x/sys v0.28.0 // indirect
)

require gopkg.in/yaml.v3 v3.0.1

replace github.com/yuin/goldmark => github.com/example/goldmark v1.7.9-fork

exclude golang.org/x/net v0.1.0

retract v0.1.0 // published by mistake

tool golang.org/x/tools/cmd/stringer
