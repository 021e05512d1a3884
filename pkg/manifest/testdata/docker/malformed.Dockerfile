FROM golang:1.22 AS
RUN go build
