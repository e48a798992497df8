package tasks

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
)

// FuzzRedisConnOpt_audit12: RedisConnOpt refuses a redis.url (bench's and
// demo's --redis) with a message that names redis.url and is one of a fixed
// few, never built from the URL, which may hold a password; one it takes
// is an option.
func FuzzRedisConnOpt_audit12(f *testing.F) {
	for _, u := range []string{"redis://127.0.0.1:6379/0", "rediss://:pw@h:6380/1", "127.0.0.1:6379", "default:s3cretpw@h:6379", "redis://u:p#w@h:1/0", "redis://h:1/x", "redis://:pw@h:99999", "unix:///tmp/r.sock", "redis://[::1]:6379", "redis:#000000", "redis://!", "redis://127.0.0.1:6379/0\n"} {
		f.Add(u)
	}
	fixed := map[string]bool{
		"redis.url: not a valid URL: write it as redis://host:port/db, like redis://127.0.0.1:6379/0 (rediss:// for TLS)": true,
		// A URL with a user or password (audit14): the same, with how to write their characters.
		"redis.url: not a valid URL: write it as redis://host:port/db, like redis://127.0.0.1:6379/0 (rediss:// for TLS); in the user or password, write % as %25, # as %23, / as %2F, ? as %3F, @ as %40 and a space as %20": true,
		"redis.url: scheme must be redis:// or rediss://":         true,
		"redis.url: cannot parse (check host, port and database)": true,
		"redis: one of url, sentinel or cluster is required":      true,
		// A # anywhere (f01f064): go-redis would dial the password's head.
		"redis.url: holds a # (write a # in the password as %23)": true,
		// An @ after the host's end, or no host (audit17).
		"redis.url: has an @ after its host (in the user or password, write / as %2F, ? as %3F and @ as %40)": true,
		"redis.url: no host (write it as redis://host:port/db, like redis://127.0.0.1:6379/0)":                true,
		// config's redis.url's other checks, made by RedisConnOpt too since
		// both call config.RedisURLProblem (audit18).
		"redis.url: starts or ends with white space (often the newline that ends the file or variable it was read from): remove it, the URL would be dialed with them": true,
		"redis.url: holds a control character: a secret is printable text; set it again from its source":                                                               true,
		"redis.url: the host has no valid port (write a / or ? in the password as %2F or %3F)":                                                                         true,
		"redis.url: the path must be a database number, like /0":                                                                                                       true,
		"redis.url: takes no query parameters (pagereply sets its own timeouts and pool sizes) but skip_verify with TLS; remove the part from ?":                       true,
		"redis.url: skip_verify must be true or false":                                                                                                                 true,
		// A host holding a ':' outside brackets, with no port (audit18).
		"redis.url: the host holds a : (a user and password end with @ before the host; write an IPv6 address in brackets, like redis://[::1]:6379/0)": true,
		// A host no resolver finds (audit21).
		"redis.url: the host is not a host name or IP address (a name is letters, digits, '-', '.' and '_'; write an IPv6 address in brackets, like redis://[::1]:6379/0)": true,
	}
	f.Fuzz(func(t *testing.T, u string) {
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if err != nil {
			if !fixed[err.Error()] {
				t.Fatalf("%q: error %q is not one of the fixed messages", u, err)
			}
			if !strings.HasPrefix(err.Error(), "redis.url: ") && u != "" {
				t.Fatalf("%q: error %q does not name redis.url", u, err)
			}
			return
		}
		if opt == nil {
			t.Fatalf("%q: no option and no error", u)
		}
	})
}
