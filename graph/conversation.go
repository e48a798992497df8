package graph

import "context"

// Conversation reads one conversation of a Page by its id (t_...), with its
// participants and its first page of messages, newest first: the fields of
// Conversations. CallInfo.PageID is set only through WithPageID.
func (c *Client) Conversation(ctx context.Context, token, conversationID string) (Conversation, error) {
	var w wireConversation
	if err := c.getObject(ctx, token, pageFor(ctx, ""), conversationID, conversationFields, &w); err != nil {
		return Conversation{}, err
	}
	return w.conversation(), nil
}
