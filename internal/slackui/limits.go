package slackui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Block Kit limits this package renders within.
const (
	// MaxMessageBlocks is Slack's limit on blocks in one message.
	MaxMessageBlocks = 50
	// MaxHomeBlocks is Slack's limit on blocks in a Home tab view.
	MaxHomeBlocks = 100
	// MaxSectionText is the limit on a section's text.
	MaxSectionText = 3000
	// MaxFieldText is the limit on each section field.
	MaxFieldText = 2000
	// MaxFields is the limit on fields per section.
	MaxFields = 10
	// MaxHeaderText is the limit on a header's plain text.
	MaxHeaderText = 150
	// MaxContextElements is the limit on elements in a context block.
	MaxContextElements = 10
	// MaxButtonText is the limit on a button's or option's label.
	MaxButtonText = 75
	// MaxMessageJSON bounds a message's blocks, serialised. Messages around
	// 13k characters have failed with msg_blocks_too_long, so stay well below.
	MaxMessageJSON = 12000
	// MaxViewJSON bounds a Home tab view (Slack's limit is 250 kB).
	MaxViewJSON = 250000
)

// ValidateMessage checks blocks against the Block Kit limits for a message
// (chat.postMessage, chat.update, ephemeral and response_url replies).
func ValidateMessage(blocks []slack.Block) error {
	return validateBlocks(blocks, MaxMessageBlocks, MaxMessageJSON)
}

// ValidateHomeView checks a Home tab view against the Block Kit limits.
func ValidateHomeView(v slack.HomeTabViewRequest) error {
	if v.Type != slack.VTHomeTab {
		return fmt.Errorf("view type %q, want %q", v.Type, slack.VTHomeTab)
	}
	return validateBlocks(v.Blocks.BlockSet, MaxHomeBlocks, MaxViewJSON)
}

func validateBlocks(blocks []slack.Block, maxBlocks, maxJSON int) error {
	if len(blocks) == 0 {
		return errors.New("no blocks")
	}
	if len(blocks) > maxBlocks {
		return fmt.Errorf("%d blocks, limit %d", len(blocks), maxBlocks)
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		if id := b.ID(); id != "" {
			if len(id) > 255 {
				return fmt.Errorf("block %d: block_id longer than 255", i)
			}
			if ids[id] {
				return fmt.Errorf("block %d: duplicate block_id %q", i, id)
			}
			ids[id] = true
		}
		if err := validateBlock(b); err != nil {
			return fmt.Errorf("block %d (%s): %w", i, b.BlockType(), err)
		}
	}
	// Measure the JSON as Slack reads it, without Go's \u003c-style HTML
	// escaping, which would triple the apparent size of every "&lt;".
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(slack.Blocks{BlockSet: blocks}); err != nil {
		return fmt.Errorf("marshal blocks: %w", err)
	}
	if n := utf8.RuneCount(bytes.TrimSpace(buf.Bytes())); n > maxJSON {
		return fmt.Errorf("blocks are %d characters of JSON, limit %d", n, maxJSON)
	}
	return nil
}

func validateText(t *slack.TextBlockObject, limit int) error {
	if t == nil {
		return errors.New("missing text")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(t.Text); n > limit {
		return fmt.Errorf("text is %d characters, limit %d", n, limit)
	}
	return nil
}

func validateBlock(b slack.Block) error {
	switch b := b.(type) {
	case *slack.HeaderBlock:
		if b.Text == nil || b.Text.Type != slack.PlainTextType {
			return errors.New("header needs plain_text")
		}
		return validateText(b.Text, MaxHeaderText)
	case *slack.SectionBlock:
		if b.Text == nil && len(b.Fields) == 0 {
			return errors.New("section needs text or fields")
		}
		if b.Text != nil {
			if err := validateText(b.Text, MaxSectionText); err != nil {
				return err
			}
		}
		if len(b.Fields) > MaxFields {
			return fmt.Errorf("%d fields, limit %d", len(b.Fields), MaxFields)
		}
		for _, f := range b.Fields {
			if err := validateText(f, MaxFieldText); err != nil {
				return fmt.Errorf("field: %w", err)
			}
		}
		if b.Accessory != nil && b.Accessory.ButtonElement != nil {
			return validateButton(b.Accessory.ButtonElement)
		}
		return nil
	case *slack.ContextBlock:
		els := b.ContextElements.Elements
		if len(els) == 0 || len(els) > MaxContextElements {
			return fmt.Errorf("%d context elements, want 1..%d", len(els), MaxContextElements)
		}
		for _, e := range els {
			t, ok := e.(*slack.TextBlockObject)
			if !ok {
				return fmt.Errorf("unexpected context element %T", e)
			}
			if err := validateText(t, MaxFieldText); err != nil {
				return err
			}
		}
		return nil
	case *slack.ActionBlock:
		if b.BlockID == "" {
			return errors.New("actions block without block_id")
		}
		if b.Elements == nil || len(b.Elements.ElementSet) == 0 || len(b.Elements.ElementSet) > 25 {
			return errors.New("actions block needs 1..25 elements")
		}
		for _, e := range b.Elements.ElementSet {
			switch e := e.(type) {
			case *slack.ButtonBlockElement:
				if err := validateButton(e); err != nil {
					return err
				}
			case *slack.SelectBlockElement:
				if e.ActionID == "" || len(e.Options) == 0 || len(e.Options) > 100 {
					return errors.New("select needs an action_id and 1..100 options")
				}
				for _, o := range e.Options {
					if err := validateText(o.Text, MaxButtonText); err != nil {
						return fmt.Errorf("option: %w", err)
					}
					if o.Value == "" || len(o.Value) > 150 {
						return errors.New("option value must be 1..150 characters")
					}
				}
			default:
				return fmt.Errorf("unexpected element %T", e)
			}
		}
		return nil
	case *slack.DividerBlock:
		return nil
	default:
		return fmt.Errorf("unexpected block %T", b)
	}
}

func validateButton(e *slack.ButtonBlockElement) error {
	if e.ActionID == "" || len(e.ActionID) > 255 {
		return errors.New("button needs an action_id of at most 255 characters")
	}
	if len(e.Value) > 2000 {
		return errors.New("button value longer than 2000")
	}
	if e.Text == nil || e.Text.Type != slack.PlainTextType {
		return errors.New("button needs plain_text")
	}
	return validateText(e.Text, MaxButtonText)
}
