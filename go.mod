module github.com/sluicelb/sluice

go 1.26.8

require (
	github.com/coder/websocket v1.8.15
	github.com/goccy/go-yaml v1.19.2
)
