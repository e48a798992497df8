// Package e2e holds end-to-end tests of the pagereply binary against Redis
// set-ups that one Redis at PAGEREPLY_TEST_REDIS cannot give: a Redis Cluster
// and a Sentinel set-up failed over mid-run, started as real redis-server
// processes (internal/redisproc), with the Graph sandbox in the test process
// over loopback. It has no code outside its tests.
package e2e
