// Package feedback will own real-time feedback threads, replies, reactions, peer
// feedback requests, kudos, and consent-based proposals with their votes.
//
// It holds no code yet: the foundation only fixes its place in the layout.
package feedback
