package deploy_test

import (
	"strings"
	"testing"
)

// TestSystemdRestartsAfterSignalStop_audit12: pagereply has no config
// reload: SIGHUP, the signal many daemons reload on (an operator's `kill
// -HUP` after editing the config, a logrotate postrotate script), and a
// SIGTERM that does not come from systemd stop it gracefully with exit 0
// (TestHangupStopsGracefully), as they should. Each unit must then start it
// again, which also reads the edited config: with Restart=on-failure,
// systemd takes exit 0 for a role that is done, and the role stayed down
// for good, its replies unsent, until someone noticed. (`systemctl stop`
// is never undone by Restart=.) Seen failing before the fix: every unit had
// Restart=on-failure.
func TestSystemdRestartsAfterSignalStop_audit12(t *testing.T) {
	_, files := systemdUnits(t)
	for _, uf := range files {
		restart := uf.value("Service", "Restart")
		if restart != "always" && restart != "on-success" {
			t.Errorf("%s: Restart=%s does not restart a role that stopped with exit 0 after SIGHUP or a SIGTERM from outside systemd", uf.file, restart)
		}
		for _, p := range uf.values("Service", "RestartPreventExitStatus") {
			for _, code := range strings.Fields(p) {
				if code == "0" || strings.EqualFold(code, "SIGHUP") || strings.EqualFold(code, "HUP") {
					t.Errorf("%s: RestartPreventExitStatus=%s keeps a role stopped by SIGHUP down", uf.file, p)
				}
			}
		}
	}
}
