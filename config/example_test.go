package config_test

import (
	"fmt"

	"github.com/pagereply/pagereply/config"
)

func ExampleParse() {
	yaml := `
pages:
  - id: "1983306698425200"
    access_token: ${PAGE_TOKEN}
    rate: 600/m
    rules:
      - match: "(?i)price"
        text: "Hi {{.FirstName}}, prices are on our site."
`
	env := map[string]string{"PAGE_TOKEN": "EAAG..."}
	c, err := config.Parse([]byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := c.Page("1983306698425200")
	fmt.Println(p.Rate, p.Schedule, p.Replies(config.ReplyComments), c.Redis.Describe())
	// Output: 600/m @every 1m true redis://127.0.0.1:6379/0
}

func ExampleParse_errors() {
	yaml := `
pages:
  - id: "1"
    access_token: ${PAGE_TOKEN}
    schedule: "every minute"
    default_text: "Hi {{.Nmae}}"
`
	_, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	fmt.Println(err)
	// Output:
	// 3 problems:
	//   pages[0].access_token: environment variable PAGE_TOKEN is not set (line 4)
	//   pages[0].schedule: has 2 fields, not 5 (seconds are not supported); write five cron fields (minute hour day-of-month month day-of-week), like "*/5 * * * *", or @every 1m, @hourly, @daily, @weekly, @monthly (line 5)
	//   pages[0].default_text: on sample data: the action at column 6 names a field reply texts do not have (did you mean .Name?); the fields are .FirstName, .Name, .UserID, .Message, .PageID, .PostID and .CommentID (line 6)
}

func ExamplePage_Render() {
	p := &config.Page{
		ID:          "1",
		Rules:       []config.Rule{{Match: "(?i)price", Text: "Hi {{.FirstName}}, prices are on our site."}},
		DefaultText: "Thanks, {{.FirstName}}!",
	}
	for _, msg := range []string{"What's the price?", "Love it"} {
		text, ok, err := p.Render(config.TemplateData{Name: "Ann Lee", Message: msg})
		fmt.Println(text, ok, err)
	}
	// Output:
	// Hi Ann, prices are on our site. true <nil>
	// Thanks, Ann! true <nil>
}
