//! What plugins show in the portal: entity tabs, entity cards and pages (each a UI tree,
//! checked on the way out), and the buttons and forms in those trees calling back into the
//! plugin (`interactions.handle-action`). A tab or card is only ever rendered, or acted on,
//! for an entity its plugin offers it for (asked in the same instance, just before).

use std::collections::BTreeMap;
use std::sync::Arc;

use greenroom_api::{
    CardRef, CardSize, EntityCards, EntityTabs, FieldValue, Notice, PageRef, PluginFailure,
    SurfaceRef, TabRef, UiAction, UiActionOutcome, UiNode,
};
use serde_json::Value;
use wasmtime::Store;
use wasmtime::component::Instance;

use super::bindings::{HostState, entity_cards, interactions, to_wit_entity, types};
use super::registry::LoadedPlugin;
use super::{PluginError, PluginHost, Viewer, tree};
use crate::catalog::{EntityRef, Predicate};

/// Most tabs or cards one plugin may offer for an entity.
const MAX_OFFERED: usize = 16;
/// Most form values one action may carry, and their total bytes.
const MAX_VALUES: usize = 64;
const MAX_VALUE_BYTES: usize = 64 << 10;
/// Longest notice an action may answer with.
const MAX_NOTICE_BYTES: usize = 4 << 10;

/// Entity tabs or cards: what plugins offer per entity.
#[derive(Clone, Copy, PartialEq)]
enum Offering {
    Tabs,
    Cards,
}

/// One tab or card a plugin offers.
struct Offered {
    id: String,
    title: String,
    size: CardSize,
}

impl PluginHost {
    /// The tabs every enabled plugin offers for an entity (see [`Self::offered`]).
    pub async fn tabs_for(
        self: &Arc<Self>,
        entity_ref: &EntityRef,
        visible: Option<Predicate>,
        viewer: Viewer,
        shown: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<EntityTabs, PluginError> {
        let (offered, errors) = self
            .offered(Offering::Tabs, entity_ref, visible, viewer, shown)
            .await?;
        let tabs = offered
            .into_iter()
            .map(|(plugin_id, tab)| TabRef {
                plugin_id,
                tab_id: tab.id,
                title: tab.title,
            })
            .collect();
        Ok(EntityTabs { tabs, errors })
    }

    /// The cards every enabled plugin offers for an entity's overview.
    pub async fn cards_for(
        self: &Arc<Self>,
        entity_ref: &EntityRef,
        visible: Option<Predicate>,
        viewer: Viewer,
        shown: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<EntityCards, PluginError> {
        let (offered, errors) = self
            .offered(Offering::Cards, entity_ref, visible, viewer, shown)
            .await?;
        let cards = offered
            .into_iter()
            .map(|(plugin_id, card)| CardRef {
                plugin_id,
                card_id: card.id,
                title: card.title,
                size: card.size,
            })
            .collect();
        Ok(EntityCards { cards, errors })
    }

    /// The pages of every enabled plugin the viewer may see, as listed when they loaded.
    pub fn pages(&self, shown: impl Fn(&str) -> bool) -> Vec<PageRef> {
        self.registry
            .load()
            .loaded()
            .filter(|p| self.enabled(&p.id) && shown(&p.id))
            .flat_map(|plugin| {
                plugin.pages.iter().map(|page| PageRef {
                    plugin_id: plugin.id.to_string(),
                    page_id: page.id.clone(),
                    title: page.title.clone(),
                })
            })
            .collect()
    }

    /// What every enabled plugin offers for an entity, asked of all at once, in plugin order.
    /// A plugin that fails is reported in the errors; the others' offers still count.
    /// `visible`: what the viewer may read, all a plugin then sees of the catalog (`None`:
    /// everything); `shown`: whether the viewer may see a plugin at all (others are not asked).
    async fn offered(
        self: &Arc<Self>,
        offering: Offering,
        entity_ref: &EntityRef,
        visible: Option<Predicate>,
        viewer: Viewer,
        shown: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<(Vec<(String, Offered)>, Vec<PluginFailure>), PluginError> {
        let entity_ref = entity_ref.clone();
        self.on_plugin_runtime(move |host| async move {
            let entity = Arc::new(host.entity_json(&entity_ref)?);
            let viewer = Arc::new(viewer);
            let registry = host.registry.load();
            let mut asked = tokio::task::JoinSet::new();
            for (order, plugin) in registry
                .loaded()
                .filter(|p| host.enabled(&p.id) && shown(&p.id) && offers(p, offering))
                .enumerate()
            {
                let (host, plugin) = (host.clone(), plugin.clone());
                let (entity, viewer, visible) = (entity.clone(), viewer.clone(), visible.clone());
                asked.spawn(async move {
                    let call = match offering {
                        Offering::Tabs => "entity-tabs.tabs-for",
                        Offering::Cards => "entity-cards.cards-for",
                    };
                    let asked_plugin = plugin.clone();
                    let offered = host
                        .call(
                            &plugin,
                            call,
                            visible,
                            move |store, instance| {
                                Box::pin(async move {
                                    offer(
                                        &asked_plugin,
                                        offering,
                                        store,
                                        instance,
                                        &entity,
                                        &viewer,
                                    )
                                    .await
                                })
                            },
                            checked_offer,
                        )
                        .await;
                    (order, plugin.id.clone(), offered)
                });
            }
            let mut answers = asked.join_all().await;
            answers.sort_by_key(|(order, ..)| *order);
            let (mut offered, mut errors) = (Vec::new(), Vec::new());
            for (_, plugin_id, answer) in answers {
                match answer {
                    Ok(items) => {
                        offered.extend(items.into_iter().map(|item| (plugin_id.to_string(), item)))
                    }
                    Err(e) => errors.push(PluginFailure {
                        plugin_id: plugin_id.to_string(),
                        message: e.to_string(),
                    }),
                }
            }
            Ok((offered, errors))
        })
        .await
    }

    /// Renders one tab, card or page of a plugin for the viewer; tabs and cards need the
    /// entity they are shown on.
    pub async fn render(
        self: &Arc<Self>,
        plugin_id: &str,
        surface: SurfaceRef,
        entity_ref: Option<EntityRef>,
        visible: Option<Predicate>,
        viewer: Viewer,
    ) -> Result<UiNode, PluginError> {
        let plugin_id = plugin_id.to_string();
        self.on_plugin_runtime(move |host| async move {
            let plugin = host.callable(&plugin_id)?;
            let entity = host.surface_entity(&plugin, &surface, entity_ref.as_ref())?;
            let call = format!(
                "{}.render({})",
                interface_of(&surface),
                surface_id(&surface)
            );
            let interactive = plugin.exports.interactions.is_some();
            let asked = plugin.clone();
            let wanted = surface.clone();
            host.call(
                &plugin,
                &call,
                visible,
                move |store, instance| {
                    Box::pin(async move {
                        render(&asked, &wanted, store, instance, entity.as_ref(), &viewer).await
                    })
                },
                move |tree| match tree {
                    None => Ok(None),
                    Some(tree) => checked_tree(&tree?, interactive).map(Some),
                },
            )
            .await?
            .ok_or_else(|| not_offered(&plugin_id, &surface, entity_ref.as_ref()))
        })
        .await
    }

    /// One press of a button or submission of a form on a plugin's surface: checked, limited
    /// per viewer, and answered by the plugin's `interactions.handle-action`.
    pub async fn handle_action(
        self: &Arc<Self>,
        plugin_id: &str,
        action: UiAction,
        visible: Option<Predicate>,
        viewer: Viewer,
    ) -> Result<UiActionOutcome, PluginError> {
        checked_values(&action.values)?;
        let entity_ref = action
            .entity
            .as_deref()
            .map(|text| EntityRef::parse(text, None, "default"))
            .transpose()
            .map_err(|e| PluginError::Invalid(format!("entity: {e}")))?;
        let plugin_id = plugin_id.to_string();
        self.on_plugin_runtime(move |host| async move {
            let plugin = host.callable(&plugin_id)?;
            let Some(indices) = plugin.exports.interactions.clone() else {
                return Err(PluginError::Invalid(format!(
                    "plugin '{plugin_id}' exports no interactions"
                )));
            };
            host.actions_allowed(&plugin, &viewer)?;
            let surface = action.surface.clone();
            let entity = host.surface_entity(&plugin, &surface, entity_ref.as_ref())?;
            let call = format!("interactions.handle-action({})", action.action_id);
            let asked = plugin.clone();
            let outcome = host
                .call(
                    &plugin,
                    &call,
                    visible,
                    move |store, instance| {
                        Box::pin(async move {
                            // The surface must be offered, as for rendering it.
                            if !surface_offered(
                                &asked,
                                &surface,
                                store,
                                instance,
                                entity.as_ref(),
                                &viewer,
                            )
                            .await?
                            {
                                return Ok(None);
                            }
                            let request = interactions::ActionRequest {
                                action_id: action.action_id,
                                surface: wit_surface(&surface),
                                entity: entity.as_ref().map(to_wit_entity),
                                values: action.values.into_iter().map(wit_value).collect(),
                                viewer: (&viewer).into(),
                            };
                            let answer = indices
                                .load(&mut *store, instance)?
                                .call_handle_action(&mut *store, &request)
                                .await?;
                            Ok(Some(answer))
                        })
                    },
                    |answer| match answer {
                        None => Ok(None),
                        Some(answer) => checked_outcome(answer).map(Some),
                    },
                )
                .await?;
            outcome.ok_or_else(|| not_offered(&plugin_id, &action.surface, entity_ref.as_ref()))
        })
        .await
    }

    /// The stored entity a tab or card is shown on; `None` for a page, which has none.
    fn surface_entity(
        &self,
        plugin: &LoadedPlugin,
        surface: &SurfaceRef,
        entity_ref: Option<&EntityRef>,
    ) -> Result<Option<Value>, PluginError> {
        match (surface, entity_ref) {
            (SurfaceRef::Page(_), _) => Ok(None),
            (_, Some(entity_ref)) => self.entity_json(entity_ref).map(Some),
            (_, None) => Err(PluginError::Invalid(format!(
                "a {} of plugin '{}' needs the entity it is shown on",
                interface_of(surface),
                plugin.id
            ))),
        }
    }

    fn entity_json(&self, entity_ref: &EntityRef) -> Result<Value, PluginError> {
        self.sandbox
            .catalog()
            .get(entity_ref)?
            .ok_or_else(|| PluginError::EntityNotFound(entity_ref.to_string()))
    }
}

fn offers(plugin: &LoadedPlugin, offering: Offering) -> bool {
    match offering {
        Offering::Tabs => plugin.exports.tabs.is_some(),
        Offering::Cards => plugin.exports.cards.is_some(),
    }
}

/// Asks a plugin's instance what it offers for an entity.
async fn offer(
    plugin: &LoadedPlugin,
    offering: Offering,
    store: &mut Store<HostState>,
    instance: &Instance,
    entity: &Value,
    viewer: &Viewer,
) -> wasmtime::Result<Vec<Offered>> {
    match (offering, &plugin.exports.tabs, &plugin.exports.cards) {
        (Offering::Tabs, Some(tabs), _) => Ok(tabs
            .tabs_for(store, instance, entity, viewer)
            .await?
            .into_iter()
            .map(|tab| Offered {
                id: tab.id,
                title: tab.title,
                size: CardSize::Large,
            })
            .collect()),
        (Offering::Cards, _, Some(cards)) => Ok(cards
            .load(&mut *store, instance)?
            .call_cards_for(&mut *store, &to_wit_entity(entity), &viewer.into())
            .await?
            .into_iter()
            .map(|card| Offered {
                id: card.id,
                title: card.title,
                size: card_size(card.size),
            })
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// Whether the plugin offers the surface (for the entity, for tabs and cards).
async fn surface_offered(
    plugin: &LoadedPlugin,
    surface: &SurfaceRef,
    store: &mut Store<HostState>,
    instance: &Instance,
    entity: Option<&Value>,
    viewer: &Viewer,
) -> wasmtime::Result<bool> {
    let (offering, id) = match surface {
        SurfaceRef::Page(id) => return Ok(plugin.pages.iter().any(|p| &p.id == id)),
        SurfaceRef::Tab(id) => (Offering::Tabs, id),
        SurfaceRef::Card(id) => (Offering::Cards, id),
    };
    let Some(entity) = entity else {
        return Ok(false);
    };
    let offered = offer(plugin, offering, store, instance, entity, viewer).await?;
    Ok(offered.iter().any(|o| &o.id == id))
}

/// Renders a surface in one instance; `None` when the plugin does not offer it.
async fn render(
    plugin: &LoadedPlugin,
    surface: &SurfaceRef,
    store: &mut Store<HostState>,
    instance: &Instance,
    entity: Option<&Value>,
    viewer: &Viewer,
) -> wasmtime::Result<Option<Result<types::Tree, String>>> {
    if !surface_offered(plugin, surface, store, instance, entity, viewer).await? {
        return Ok(None);
    }
    let exports = &plugin.exports;
    let tree = match (surface, entity) {
        (SurfaceRef::Tab(id), Some(entity)) => match &exports.tabs {
            Some(tabs) => tabs.render(store, instance, id, entity, viewer).await?,
            None => return Ok(None),
        },
        (SurfaceRef::Card(id), Some(entity)) => match &exports.cards {
            Some(cards) => {
                cards
                    .load(&mut *store, instance)?
                    .call_render_card(&mut *store, id, &to_wit_entity(entity), &viewer.into())
                    .await?
            }
            None => return Ok(None),
        },
        (SurfaceRef::Page(id), _) => match &exports.pages {
            Some(pages) => {
                pages
                    .load(&mut *store, instance)?
                    .call_render_page(&mut *store, id, &viewer.into())
                    .await?
            }
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(tree))
}

fn interface_of(surface: &SurfaceRef) -> &'static str {
    match surface {
        SurfaceRef::Tab(_) => "entity-tabs",
        SurfaceRef::Card(_) => "entity-cards",
        SurfaceRef::Page(_) => "pages",
    }
}

fn surface_id(surface: &SurfaceRef) -> &str {
    match surface {
        SurfaceRef::Tab(id) | SurfaceRef::Card(id) | SurfaceRef::Page(id) => id,
    }
}

fn not_offered(plugin: &str, surface: &SurfaceRef, entity: Option<&EntityRef>) -> PluginError {
    PluginError::NotOffered {
        plugin: plugin.to_string(),
        what: match surface {
            SurfaceRef::Tab(id) => format!("tab '{id}'"),
            SurfaceRef::Card(id) => format!("card '{id}'"),
            SurfaceRef::Page(id) => format!("page '{id}'"),
        },
        entity: entity.map_or_else(String::new, |e| format!(" for {e}")),
    }
}

fn card_size(size: entity_cards::CardSize) -> CardSize {
    match size {
        entity_cards::CardSize::Small => CardSize::Small,
        entity_cards::CardSize::Medium => CardSize::Medium,
        entity_cards::CardSize::Large => CardSize::Large,
    }
}

fn wit_surface(surface: &SurfaceRef) -> interactions::Surface {
    match surface {
        SurfaceRef::Tab(id) => interactions::Surface::Tab(id.clone()),
        SurfaceRef::Card(id) => interactions::Surface::Card(id.clone()),
        SurfaceRef::Page(id) => interactions::Surface::Page(id.clone()),
    }
}

fn wit_value((name, value): (String, FieldValue)) -> (String, types::FieldValue) {
    let value = match value {
        FieldValue::Text(text) => types::FieldValue::Text(text),
        FieldValue::Number(number) => types::FieldValue::Number(number),
        FieldValue::Checkbox(checked) => types::FieldValue::Checkbox(checked),
    };
    (name, value)
}

fn checked_offer(offered: Vec<Offered>) -> Result<Vec<Offered>, String> {
    if offered.len() > MAX_OFFERED {
        return Err(format!(
            "offered {} items; at most {MAX_OFFERED} are shown",
            offered.len()
        ));
    }
    Ok(offered)
}

fn checked_tree(tree: &types::Tree, interactive: bool) -> Result<UiNode, String> {
    tree::to_ui(tree, interactive)
        .map_err(|reason| format!("returned an invalid UI tree: {reason}"))
}

fn checked_values(values: &BTreeMap<String, FieldValue>) -> Result<(), PluginError> {
    let bytes: usize = values
        .iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    FieldValue::Text(text) => text.len(),
                    FieldValue::Number(_) | FieldValue::Checkbox(_) => 8,
                }
        })
        .sum();
    if values.len() > MAX_VALUES || bytes > MAX_VALUE_BYTES {
        return Err(PluginError::Invalid(format!(
            "an action carries at most {MAX_VALUES} values and {} KiB; this one has {} values, {bytes} bytes",
            MAX_VALUE_BYTES >> 10,
            values.len()
        )));
    }
    Ok(())
}

fn checked_outcome(
    answer: Result<interactions::ActionOutcome, String>,
) -> Result<UiActionOutcome, String> {
    // A plugin's own refusal is for the user: a failed notice, the surface unchanged.
    let outcome = match answer {
        Ok(outcome) => outcome,
        Err(message) => {
            return Ok(UiActionOutcome {
                tree: None,
                notice: Some(Notice {
                    message: truncated(message),
                    tone: greenroom_api::Tone::Danger,
                }),
            });
        }
    };
    Ok(UiActionOutcome {
        // Answering with a tree means the plugin handles actions: buttons stay allowed.
        tree: outcome
            .tree
            .map(|tree| checked_tree(&tree, true))
            .transpose()?,
        notice: outcome.notice.map(|notice| Notice {
            message: truncated(notice.message),
            tone: tree::tone(notice.tone),
        }),
    })
}

fn truncated(mut message: String) -> String {
    if message.len() > MAX_NOTICE_BYTES {
        let mut end = MAX_NOTICE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// Buckets kept before full ones (idle viewers) are forgotten.
const MAX_BUCKETS: usize = 10_000;

/// Each viewer's action allowance per plugin: a token bucket that refills at the plugin's
/// `actionsPerSecond` and holds a burst of twice that.
#[derive(Default)]
pub struct ActionRate {
    buckets: std::sync::Mutex<std::collections::HashMap<(String, String), Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: std::time::Instant,
}

impl ActionRate {
    /// Takes one action from the viewer's allowance on the plugin, which earns `per_second`;
    /// false when it is spent.
    fn take(&self, plugin: &str, viewer: &str, per_second: u32) -> bool {
        let (rate, burst) = (f64::from(per_second), 2.0 * f64::from(per_second));
        let now = std::time::Instant::now();
        let mut buckets = super::lock(&self.buckets);
        let refill = |bucket: &Bucket| {
            let earned = now.duration_since(bucket.at).as_secs_f64() * rate;
            (bucket.tokens + earned).min(burst)
        };
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, bucket| refill(bucket) < burst);
        }
        let bucket = buckets
            .entry((plugin.to_string(), viewer.to_string()))
            .or_insert(Bucket {
                tokens: burst,
                at: now,
            });
        bucket.tokens = refill(bucket);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        true
    }
}

impl PluginHost {
    fn actions_allowed(&self, plugin: &LoadedPlugin, viewer: &Viewer) -> Result<(), PluginError> {
        let per_second = plugin.grants.actions_per_second;
        if self
            .action_rate
            .take(&plugin.id, &viewer.user_ref, per_second)
        {
            Ok(())
        } else {
            Err(PluginError::TooManyActions(plugin.id.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_gets_a_burst_of_actions_per_plugin() {
        let rate = ActionRate::default();
        let allowed = (0..100)
            .filter(|_| rate.take("p", "user:default/a", 10))
            .count();
        // The burst, and whatever came back while the loop ran (well under one more).
        assert!((20..=21).contains(&allowed), "{allowed}");
        assert!(
            rate.take("p", "user:default/b", 10),
            "another viewer has their own"
        );
        assert!(
            rate.take("q", "user:default/a", 10),
            "another plugin has its own"
        );
        let fast = ActionRate::default();
        let allowed = (0..1000).filter(|_| fast.take("p", "v", 200)).count();
        assert!((400..=420).contains(&allowed), "{allowed}");
    }
}
