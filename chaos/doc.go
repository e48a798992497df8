// Package chaos holds tests that run the pagereply binary as many real
// processes against one Redis and the Graph sandbox, kill and restart them
// while they work, and check pagereply's guarantees from the sandbox's record:
// exactly one reply per eligible comment, none missed, no Page over its rate.
//
// TestManyProcesses (issue 6) runs with every `go test ./...`. The chaos
// suite (issue 7) needs the chaos build tag:
//
//	go test -tags chaos -run TestChaos -v ./chaos/              # short form, for CI
//	go test -tags chaos -run TestChaos -v ./chaos/ -chaos.long  # 10,000 comments
//
// The soak (TestSoak_audit16) needs the soak build tag and a port for a
// redis-server of its own, which it starts, restarts and freezes:
//
//	go test -tags soak -timeout 30m -run TestSoak -v ./chaos/ -soak.port 7468 -soak.out /tmp/soak  # 12 minutes
//
// Its webhook is delivered as Meta delivers it: the changes of
// -soak.webhook-window (200ms) batched into one delivery of several Pages,
// a delivery not answered 2xx (the api or Redis down) delivered again.
//
// Add -soak.app-not-live (and -soak.app-testers 0.5, or ID,ID) to soak an app
// not live, whose sends to people without a role are refused (2018028). Its
// report (report.txt in -soak.out) also times each Page's reads, for telling
// a throttle from a burst of pagereply's own reads (reads.txt, reads_events.txt).
//
// It has no code outside its tests.
package chaos
