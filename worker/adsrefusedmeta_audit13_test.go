package worker_test

import (
	"strconv"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestAdsPostsRefusedMetaAnswersKeepFeed_audit13: the other answers Graph
// gives an ads_posts read for a token without the ads permissions or the
// ADVERTISE task, or an app without the Marketing API's access (100
// subcode 33 "cannot be loaded due to missing permissions", 294 "requires the
// extended permission ads_management", 3 "does not have the capability"),
// neither fail the poll nor pause the Page, as codes 10 and 200 do not: the
// feed's comments are answered and the report says why the ads posts were
// not read. 100/33 failed every poll after its feed was read; 3 paused the
// Page.
func TestAdsPostsRefusedMetaAnswersKeepFeed_audit13(t *testing.T) {
	for _, code := range []int{sandbox.CodeInvalidParam, sandbox.CodeAdsManagement, sandbox.CodeAPIMethod} {
		t.Run("code "+strconv.Itoa(code), func(t *testing.T) {
			checkEdgeRefusedKeepsFeed(t, adsRefusal(newAdsFixture(t, 13300+int64(code), true)), code)
		})
	}
}
