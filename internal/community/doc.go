// Package community owns nodes (people), their connections and node communities:
// the live network every employee publishes into. It knows nothing of HTTP or HTML;
// the web package renders what it returns.
package community
