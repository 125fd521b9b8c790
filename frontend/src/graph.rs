//! The dependency graph on an entity page: the entity in the middle, its related entities on
//! a circle around it, one edge per neighbour labelled with the relation types. Drawn as SVG
//! from the entity's own relations; clicking a neighbour opens its page.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::entity_path;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 420.0;
/// Neighbours beyond this many are summarised, so the picture stays readable.
const MAX_NEIGHBOURS: usize = 16;

pub struct DependencyGraph {
    center: String,
    /// Each neighbour with the relation types that lead to it.
    neighbours: Vec<(String, Vec<String>)>,
    hidden: usize,
}

impl DependencyGraph {
    /// From relations grouped by type, as the relations card shows them.
    pub fn of(center: &str, by_type: &[(String, Vec<String>)]) -> Self {
        let mut neighbours: Vec<(String, Vec<String>)> = Vec::new();
        for (relation, targets) in by_type {
            for target in targets {
                match neighbours.iter_mut().find(|(t, _)| t == target) {
                    Some((_, types)) => types.push(relation.clone()),
                    None => neighbours.push((target.clone(), vec![relation.clone()])),
                }
            }
        }
        let hidden = neighbours.len().saturating_sub(MAX_NEIGHBOURS);
        neighbours.truncate(MAX_NEIGHBOURS);
        Self {
            center: center.to_string(),
            neighbours,
            hidden,
        }
    }

    pub fn render(self) -> impl IntoView {
        if self.neighbours.is_empty() {
            return view! { <p class="empty">"No related entities."</p> }.into_any();
        }
        let navigate = use_navigate();
        let (cx, cy) = (WIDTH / 2.0, HEIGHT / 2.0);
        let count = self.neighbours.len() as f64;
        let nodes = self
            .neighbours
            .into_iter()
            .enumerate()
            .map(|(i, (target, types))| {
                let angle = std::f64::consts::TAU * i as f64 / count - std::f64::consts::FRAC_PI_2;
                let (x, y) = (cx + 270.0 * angle.cos(), cy + 160.0 * angle.sin());
                let (mx, my) = ((cx + x) / 2.0, (cy + y) / 2.0);
                let path = entity_path(&target);
                let navigate = navigate.clone();
                view! {
                    <line class="edge" x1=cx y1=cy x2=x y2=y/>
                    <text class="edge-label" x=mx y=my text-anchor="middle">{types.join(", ")}</text>
                    <g class="node neighbour" data-ref=target.clone() on:click=move |_| navigate(&path, Default::default())>
                        <rect x=x - 95.0 y=y - 14.0 width="190" height="28" rx="6"/>
                        <text x=x y=y + 5.0 text-anchor="middle">{short(&target)}</text>
                        <title>{target.clone()}</title>
                    </g>
                }
            })
            .collect_view();
        view! {
            <svg class="graph" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
                aria-label=format!("{} and its related entities", self.center)>
                {nodes}
                <g class="node center">
                    <rect x=cx - 120.0 y=cy - 16.0 width="240" height="32" rx="6"/>
                    <text x=cx y=cy + 5.0 text-anchor="middle">{short(&self.center)}</text>
                </g>
            </svg>
            {(self.hidden > 0).then(|| view! { <p class="muted">{format!("and {} more (see Relations)", self.hidden)}</p> })}
        }
        .into_any()
    }
}

/// A label that fits a node: long refs are shortened in the middle.
fn short(entity_ref: &str) -> String {
    const MAX: usize = 26;
    let chars: Vec<char> = entity_ref.chars().collect();
    if chars.len() <= MAX {
        return entity_ref.to_string();
    }
    let head: String = chars[..12].iter().collect();
    let tail: String = chars[chars.len() - 12..].iter().collect();
    format!("{head}…{tail}")
}
