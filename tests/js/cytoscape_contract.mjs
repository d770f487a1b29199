// The API's `graphPipeline` ({nodes: [{id, label, kind}], edges: [{source, target, kind}]}, read as JSON from
// stdin) turned into Cytoscape.js elements as the earlier tool's README showed, loaded into real Cytoscape.js
// (headless), and checked: every edge's ends exist (Cytoscape throws on a missing one), and the processes
// (steps) with their dependsOn edges form a DAG. Prints one JSON summary line; exits 0 whatever it found
// (the Python test judges), 2 when the input is not a graph at all.
import cytoscape from "cytoscape";
import { readFileSync } from "node:fs";

const { version } = cytoscape;

function elementsOf(graph) {
  return [
    ...graph.nodes.map((n) => ({ data: { id: n.id, label: n.label, kind: n.kind } })),
    ...graph.edges.map((e) => ({ data: { source: e.source, target: e.target, kind: e.kind } })),
  ];
}

// Kahn's algorithm over Cytoscape's own collections: the nodes of `nodes` in an order that every edge of
// `edges` (a selector) between them follows, and the ones left on a cycle.
function topologicalOrder(cy, nodes, edges) {
  const inside = (collection) => collection.intersection(nodes);
  const indegree = new Map(nodes.map((n) => [n.id(), inside(n.incomers(edges).sources()).length]));
  const ready = nodes.filter((n) => indegree.get(n.id()) === 0).map((n) => n.id());
  const order = [];
  while (ready.length) {
    const id = ready.shift();
    order.push(id);
    inside(cy.getElementById(id).outgoers(edges).targets()).forEach((t) => {
      indegree.set(t.id(), indegree.get(t.id()) - 1);
      if (indegree.get(t.id()) === 0) ready.push(t.id());
    });
  }
  return { order, onCycle: nodes.map((n) => n.id()).filter((id) => !order.includes(id)) };
}

function check(graph) {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const missingEnds = graph.edges.flatMap((e) =>
    ["source", "target"].filter((end) => !ids.has(e[end])).map((end) => ({ end, id: e[end], edge: e })));
  let cy;
  try {
    cy = cytoscape({ headless: true, styleEnabled: false, elements: elementsOf(graph) });
  } catch (err) {
    return { cytoscape: version, loaded: false, error: String(err.message || err), missingEnds };
  }
  const processes = cy.nodes('[kind = "process"]');
  const { order, onCycle } = topologicalOrder(cy, processes, 'edge[kind = "dependsOn"]');
  const flow = topologicalOrder(cy, cy.nodes(), "edge");
  const count = (selector) => cy.elements(selector).length;
  return {
    cytoscape: version,
    loaded: true,
    error: null,
    missingEnds,
    nodes: cy.nodes().length,
    edges: cy.edges().length,
    kinds: {
      process: count('node[kind = "process"]'), data: count('node[kind = "data"]'),
      dependsOn: count('edge[kind = "dependsOn"]'), read: count('edge[kind = "read"]'), write: count('edge[kind = "write"]'),
    },
    dag: onCycle.length === 0,
    topologicalOrder: order,
    onCycle,
    flowAcyclic: flow.onCycle.length === 0,  // processes and data along every edge
    roots: processes.filter((n) => n.incomers('edge[kind = "dependsOn"]').empty()).map((n) => n.id()),
    components: cy.elements().components().length,
  };
}

let graph;
try {
  graph = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(graph.nodes) || !Array.isArray(graph.edges)) throw new Error("no nodes and edges arrays");
} catch (err) {
  console.log(JSON.stringify({ loaded: false, error: `not a graph: ${err.message}` }));
  process.exit(2);
}
console.log(JSON.stringify(check(graph)));
