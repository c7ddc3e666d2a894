// Package graph will turn the organisation's connections and interactions into
// network intelligence: communities, brokers, silos, isolated people and reach,
// computed over compact in-memory graphs and shown back to the network.
//
// It holds no code yet: the foundation only fixes its place in the layout.
package graph
