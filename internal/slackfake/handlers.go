package slackfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's documented limits that the fake enforces, so a message the real
// API would reject is rejected in tests too.
const (
	maxMessageBlocks = 50
	maxHomeBlocks    = 100
	maxTextRunes     = 40000
	maxBody          = 4 << 20
)

// result is a handler's answer before it is written.
type result struct {
	status int            // 0 means 200
	body   map[string]any // JSON answered; "ok" is set by the constructors
}

func okResult(fields map[string]any) result {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	return result{body: fields}
}

func errResult(code string) result {
	return result{body: map[string]any{"ok": false, "error": code}}
}

func (r result) errorCode() string {
	if ok, _ := r.body["ok"].(bool); ok {
		return ""
	}
	code, _ := r.body["error"].(string)
	return code
}

func (r result) httpStatus() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	call, err := s.readCall(r, method)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.serve(w, r, call, s.handle)
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	call, err := s.readCall(r, "response_url")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	call.Params = url.Values{"response_id": {r.PathValue("id")}}
	s.serve(w, r, call, func(c Call) result {
		if !json.Valid(c.JSON) {
			return result{status: http.StatusBadRequest, body: map[string]any{"ok": false, "error": "invalid_payload"}}
		}
		return okResult(nil)
	})
}

// serve runs one request through the fault pipeline: without a fault it is
// handled and answered; a fault may store its effect first (Accept), hold
// the answer (Delay, Hang) and replace it (Status, Error). The call is
// recorded as soon as its effect is stored or the fault decided it has
// none, so WaitFor never returns before Messages shows the post.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, call Call, handle func(Call) result) {
	f, faulted := s.popFault(call.Method)
	if !faulted {
		res := handle(call)
		s.finish(w, call, res)
		return
	}
	call.Faulted = true
	var accepted result
	if f.Accept {
		accepted = handle(call)
	}
	if f.decided() {
		switch {
		case f.Hang:
			call.Status = 0
		case f.Status != 0:
			call.Status = f.Status
		default:
			call.Status, call.Error = http.StatusOK, f.Error
		}
		s.record(call)
		wait := f.Delay
		if f.Hang {
			wait = hangFor
		}
		if !s.wait(r, wait) || f.Hang {
			return
		}
		writeFault(w, f)
		return
	}
	// A delay alone: a slow call that succeeds if the client waits for it.
	if f.Accept {
		call.Status, call.Error = accepted.httpStatus(), accepted.errorCode()
		s.record(call)
		if s.wait(r, f.Delay) {
			writeResult(w, accepted)
		}
		return
	}
	if !s.wait(r, f.Delay) {
		call.Status = 0
		s.record(call)
		return
	}
	s.finish(w, call, handle(call))
}

func (s *Server) finish(w http.ResponseWriter, call Call, res result) {
	call.Status, call.Error = res.httpStatus(), res.errorCode()
	s.record(call)
	writeResult(w, res)
}

// wait sleeps for d and reports whether the client is still waiting for an
// answer; it returns early when the client gives up or the server closes.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

func writeResult(w http.ResponseWriter, res result) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(res.httpStatus())
	_ = json.NewEncoder(w).Encode(res.body)
}

func writeFault(w http.ResponseWriter, f Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		writeResult(w, result{status: f.Status, body: map[string]any{"ok": false, "error": "ratelimited"}})
	case f.Status >= 500:
		// Slack answers 5xx with an HTML page; slack-go must not parse it.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", f.Status, http.StatusText(f.Status))
	case f.Status != 0:
		http.Error(w, http.StatusText(f.Status), f.Status)
	default:
		writeResult(w, errResult(f.Error))
	}
}

// readCall parses a request the way Slack would accept it from slack-go:
// form-encoded POSTs (most methods), GET query strings (chat.getPermalink)
// and JSON bodies (views.publish, response_url posts). The token comes from
// the form or the Authorization header and is kept out of Params.
func (s *Server) readCall(r *http.Request, method string) (Call, error) {
	s.mu.Lock()
	at := s.now()
	s.mu.Unlock()
	call := Call{Method: method, At: at, Params: url.Values{}}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return call, fmt.Errorf("read body: %w", err)
	}
	for k, v := range r.URL.Query() {
		call.Params[k] = v
	}
	ctype := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ctype, "application/json"):
		call.JSON = json.RawMessage(body)
	case len(body) > 0:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return call, fmt.Errorf("parse form: %w", err)
		}
		for k, v := range form {
			call.Params[k] = v
		}
	}
	call.Token = call.Params.Get("token")
	call.Params.Del("token")
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && call.Token == "" {
		call.Token = auth
	}
	return call, nil
}

// handle applies one API call to the fake's state and builds the answer.
func (s *Server) handle(c Call) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Token == "" {
		return errResult("not_authed")
	}
	if s.token != "" && c.Token != s.token {
		return errResult("invalid_auth")
	}
	p := c.Params
	switch c.Method {
	case "auth.test":
		return okResult(map[string]any{
			"url": "https://pqlbot-fake.slack.com/", "team": "pqlbot fake", "user": "pqlbot",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID,
		})
	case "chat.postMessage":
		return s.postMessageLocked(p)
	case "chat.update":
		return s.updateLocked(p)
	case "chat.postEphemeral":
		return s.postEphemeralLocked(p)
	case "chat.getPermalink":
		return s.permalinkLocked(p)
	case "conversations.list":
		return s.listLocked(p)
	case "conversations.info":
		ch := s.channelLocked(p.Get("channel"))
		if ch == nil || (ch.Private && ch.NotMember) {
			return errResult("channel_not_found")
		}
		return okResult(map[string]any{"channel": channelJSON(ch)})
	case "conversations.history":
		return s.historyLocked(p)
	case "conversations.replies":
		return s.repliesLocked(p)
	case "views.publish":
		return s.publishLocked(c.JSON)
	case "users.info":
		u, ok := s.users[p.Get("user")]
		if !ok {
			return errResult("user_not_found")
		}
		return okResult(map[string]any{"user": userJSON(u)})
	default:
		return errResult("unknown_method")
	}
}

// memberChannelLocked finds a channel the bot can read and write, or the
// error Slack answers for it.
func (s *Server) memberChannelLocked(id string) (*Channel, string) {
	ch := s.channelLocked(id)
	switch {
	case ch == nil, ch.Private && ch.NotMember:
		return nil, "channel_not_found"
	case ch.NotMember:
		return nil, "not_in_channel"
	case ch.Archived:
		return nil, "is_archived"
	}
	return ch, ""
}

// content validates the text and blocks of a post or update as Slack does.
// present reports whether blocks were sent at all ("[]" clears them).
func content(p url.Values) (text string, blocks json.RawMessage, present bool, errCode string) {
	text = p.Get("text")
	if utf8.RuneCountInString(text) > maxTextRunes {
		return "", nil, false, "msg_too_long"
	}
	if _, present = p["blocks"]; present {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(p.Get("blocks")), &list); err != nil {
			return "", nil, false, "invalid_blocks_format"
		}
		if len(list) > maxMessageBlocks {
			return "", nil, false, "invalid_blocks"
		}
		for _, b := range list {
			var head struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(b, &head); err != nil || head.Type == "" {
				return "", nil, false, "invalid_blocks"
			}
		}
		if len(list) > 0 {
			blocks = json.RawMessage(p.Get("blocks"))
		}
	}
	return text, blocks, present, ""
}

func metadata(p url.Values) (*slack.SlackMetadata, string) {
	raw := p.Get("metadata")
	if raw == "" {
		return nil, ""
	}
	var m slack.SlackMetadata
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m.EventType == "" {
		return nil, "invalid_metadata_format"
	}
	return &m, ""
}

func (s *Server) postMessageLocked(p url.Values) result {
	ch, code := s.memberChannelLocked(p.Get("channel"))
	if code != "" {
		return errResult(code)
	}
	text, blocks, _, code := content(p)
	if code != "" {
		return errResult(code)
	}
	if text == "" && blocks == nil {
		return errResult("no_text")
	}
	meta, code := metadata(p)
	if code != "" {
		return errResult(code)
	}
	m := &Message{
		Channel: ch.ID, TS: s.nextTSLocked(ch.ID), ThreadTS: p.Get("thread_ts"),
		User: BotUserID, Text: text, Blocks: blocks, Metadata: meta,
		Broadcast: p.Get("thread_ts") != "" && p.Get("reply_broadcast") == "true",
	}
	s.messages[ch.ID] = append(s.messages[ch.ID], m)
	return okResult(map[string]any{"channel": ch.ID, "ts": m.TS, "message": messageJSON(m, true)})
}

func (s *Server) updateLocked(p url.Values) result {
	ch, code := s.memberChannelLocked(p.Get("channel"))
	if code != "" {
		return errResult(code)
	}
	m := s.messageLocked(ch.ID, p.Get("ts"))
	if m == nil {
		return errResult("message_not_found")
	}
	if m.User != BotUserID {
		return errResult("cant_update_message")
	}
	text, blocks, present, code := content(p)
	if code != "" {
		return errResult(code)
	}
	_, hasText := p["text"]
	if !hasText && !present {
		return errResult("no_text")
	}
	meta, code := metadata(p)
	if code != "" {
		return errResult(code)
	}
	if hasText {
		m.Text = text
	}
	if present {
		m.Blocks = blocks
	}
	if meta != nil {
		m.Metadata = meta
	}
	m.Updates++
	return okResult(map[string]any{"channel": ch.ID, "ts": m.TS, "text": m.Text, "message": messageJSON(m, true)})
}

func (s *Server) postEphemeralLocked(p url.Values) result {
	ch, code := s.memberChannelLocked(p.Get("channel"))
	if code != "" {
		return errResult(code)
	}
	user := p.Get("user")
	if _, known := s.users[user]; user == "" || (len(s.users) > 0 && !known) {
		return errResult("user_not_found")
	}
	text, blocks, _, code := content(p)
	if code != "" {
		return errResult(code)
	}
	if text == "" && blocks == nil {
		return errResult("no_text")
	}
	e := Ephemeral{Channel: ch.ID, User: user, TS: s.nextTSLocked(ch.ID), Text: text, Blocks: blocks}
	s.ephemerals[ch.ID] = append(s.ephemerals[ch.ID], e)
	return okResult(map[string]any{"message_ts": e.TS})
}

func (s *Server) permalinkLocked(p url.Values) result {
	ch := s.channelLocked(p.Get("channel"))
	if ch == nil || (ch.Private && ch.NotMember) {
		return errResult("channel_not_found")
	}
	m := s.messageLocked(ch.ID, p.Get("message_ts"))
	if m == nil {
		return errResult("message_not_found")
	}
	link := "https://pqlbot-fake.slack.com/archives/" + ch.ID + "/p" + strings.ReplaceAll(m.TS, ".", "")
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch.ID
	}
	return okResult(map[string]any{"channel": ch.ID, "permalink": link})
}

func (s *Server) listLocked(p url.Values) result {
	types := strings.Split(p.Get("types"), ",")
	if p.Get("types") == "" {
		types = []string{"public_channel"}
	}
	excludeArchived := p.Get("exclude_archived") == "true" || p.Get("exclude_archived") == "1"
	var all []any
	for _, ch := range s.channels {
		switch {
		case ch.Private && !slices.Contains(types, "private_channel"),
			!ch.Private && !slices.Contains(types, "public_channel"),
			ch.Private && ch.NotMember, // private channels are invisible to non-members
			ch.Archived && excludeArchived:
			continue
		}
		all = append(all, channelJSON(ch))
	}
	page, next, code := s.pageLocked(all, p, 100, 1000)
	if code != "" {
		return errResult(code)
	}
	return okResult(map[string]any{"channels": page, "response_metadata": map[string]any{"next_cursor": next}})
}

func (s *Server) historyLocked(p url.Values) result {
	ch, code := s.readableChannelLocked(p.Get("channel"))
	if code != "" {
		return errResult(code)
	}
	var top []*Message
	for _, m := range s.messages[ch.ID] {
		if m.ThreadTS == "" || m.ThreadTS == m.TS {
			top = append(top, m)
		}
	}
	slices.Reverse(top) // newest first, as Slack answers
	return s.messagePageLocked(top, p)
}

func (s *Server) repliesLocked(p url.Values) result {
	ch, code := s.readableChannelLocked(p.Get("channel"))
	if code != "" {
		return errResult(code)
	}
	parent := s.messageLocked(ch.ID, p.Get("ts"))
	if parent == nil {
		return errResult("thread_not_found")
	}
	thread := []*Message{parent}
	for _, m := range s.messages[ch.ID] {
		if m.ThreadTS == parent.TS && m != parent {
			thread = append(thread, m)
		}
	}
	return s.messagePageLocked(thread, p)
}

// readableChannelLocked is memberChannelLocked without the archive check:
// archived channels can still be read.
func (s *Server) readableChannelLocked(id string) (*Channel, string) {
	ch := s.channelLocked(id)
	switch {
	case ch == nil, ch.Private && ch.NotMember:
		return nil, "channel_not_found"
	case ch.NotMember:
		return nil, "not_in_channel"
	}
	return ch, ""
}

// messagePageLocked filters msgs by oldest/latest (exclusive unless
// inclusive is set, as in Slack) and answers one page of them.
func (s *Server) messagePageLocked(msgs []*Message, p url.Values) result {
	inclusive := p.Get("inclusive") == "1" || p.Get("inclusive") == "true"
	oldest, latest := int64(0), int64(math.MaxInt64)
	if v := p.Get("oldest"); v != "" {
		us, ok := parseTS(v)
		if !ok {
			return errResult("invalid_ts_oldest")
		}
		oldest = us
	}
	if v := p.Get("latest"); v != "" {
		us, ok := parseTS(v)
		if !ok {
			return errResult("invalid_ts_latest")
		}
		latest = us
	}
	withMeta := p.Get("include_all_metadata") == "1" || p.Get("include_all_metadata") == "true"
	var all []any
	for _, m := range msgs {
		us, _ := parseTS(m.TS)
		if us < oldest || us > latest || (!inclusive && (us == oldest || us == latest)) {
			continue
		}
		all = append(all, messageJSON(m, withMeta))
	}
	page, next, code := s.pageLocked(all, p, 100, 999)
	if code != "" {
		return errResult(code)
	}
	return okResult(map[string]any{
		"messages": page, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

// pageLocked cuts one page out of items per the limit and cursor params.
// Cursors are opaque to clients, as Slack's are.
func (s *Server) pageLocked(items []any, p url.Values, def, maxLimit int) (page []any, next string, errCode string) {
	limit := def
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, "", "invalid_limit"
		}
		if n > 0 {
			limit = min(n, maxLimit)
		}
	}
	if s.pageSize > 0 {
		limit = min(limit, s.pageSize)
	}
	offset := 0
	if c := p.Get("cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		n, ok := strings.CutPrefix(string(raw), "offset:")
		if err != nil || !ok {
			return nil, "", "invalid_cursor"
		}
		if offset, err = strconv.Atoi(n); err != nil || offset < 0 || offset > len(items) {
			return nil, "", "invalid_cursor"
		}
	}
	end := min(offset+limit, len(items))
	page = items[offset:end]
	if page == nil {
		page = []any{}
	}
	if end < len(items) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return page, next, ""
}

func (s *Server) publishLocked(body json.RawMessage) result {
	var req struct {
		UserID string         `json:"user_id"`
		View   map[string]any `json:"view"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.UserID == "" || req.View == nil {
		return errResult("invalid_arguments")
	}
	if req.View["type"] != "home" {
		return errResult("invalid_arguments")
	}
	if blocks, _ := req.View["blocks"].([]any); len(blocks) > maxHomeBlocks {
		return errResult("invalid_arguments")
	}
	raw, err := json.Marshal(req.View)
	if err != nil {
		return errResult("invalid_arguments")
	}
	s.views[req.UserID] = raw
	s.viewSeq++
	view := req.View
	view["id"] = fmt.Sprintf("V%08d", s.viewSeq)
	view["team_id"] = TeamID
	return okResult(map[string]any{"view": view})
}

func channelJSON(ch *Channel) map[string]any {
	return map[string]any{
		"id": ch.ID, "name": ch.Name, "name_normalized": ch.Name,
		"is_channel": !ch.Private, "is_group": false, "is_private": ch.Private,
		"is_archived": ch.Archived, "is_member": !ch.NotMember,
	}
}

func userJSON(u User) map[string]any {
	return map[string]any{
		"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.RealName, "is_bot": u.IsBot,
		"profile": map[string]any{"real_name": u.RealName, "display_name": u.DisplayName},
	}
}

func messageJSON(m *Message, withMeta bool) map[string]any {
	out := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
	if m.User == BotUserID {
		out["bot_id"] = BotID
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if withMeta && m.Metadata != nil {
		out["metadata"] = m.Metadata
	}
	if m.Updates > 0 {
		out["edited"] = map[string]any{"user": m.User, "ts": m.TS}
	}
	return out
}
