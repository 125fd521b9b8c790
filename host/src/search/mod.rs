//! Search: one tantivy index over the catalog (documents of type `software-catalog`, with
//! Backstage's fields), in memory beside the catalog the way the catalog's own index is:
//! built from the catalog at start-up, then kept current from the catalog's change feed
//! (a change is searchable as soon as its batch is indexed, milliseconds after the commit).
//! Queries are built from the user's words, never parsed as engine syntax: every word must
//! match (one typo forgiven in words of five letters or more, the word being typed as a
//! prefix), quoted phrases match in order, an entity's exact name ranks first, and filters
//! narrow by kind, lifecycle, owner, type, tags and namespace. What the caller may not read
//! is dropped before paging.

pub mod api;
mod text;

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde_json::{Map, Value, json};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TEXT, TantivyDocument, Value as _,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use crate::catalog::{Catalog, Cursor, EntityQuery, EntityRef, MAX_PAGE_SIZE, Predicate};
use text::Terms;

pub const CATALOG_TYPE: &str = "software-catalog";
/// The document types there are, for `types` and the UI's filter.
pub const TYPES: &[&str] = &[CATALOG_TYPE];
/// Filters a query may give, each a field of the catalog's documents.
pub const FILTERS: &[&str] = &["kind", "lifecycle", "owner", "type", "tags", "namespace"];
/// Most matches ranked when the caller's permissions must be checked one by one.
const PERMISSION_CAP: usize = 10_000;
/// The index writer's memory budget.
const WRITER_MEMORY: usize = 30 << 20;

struct Fields {
    entity_ref: Field,
    /// The Backstage document, as JSON, for the answer.
    document: Field,
    /// Words of the title and name, the tags, system and owner, the description.
    title_words: Field,
    tag_words: Field,
    text_words: Field,
    exact_name: Field,
    /// Lowercased filter values, by filter name.
    filters: HashMap<&'static str, Field>,
}

pub struct Search {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    catalog: Arc<Catalog>,
}

/// One query, as the API takes it.
#[derive(Debug, Default)]
pub struct Request {
    pub term: String,
    pub types: Vec<String>,
    pub filters: BTreeMap<String, Vec<String>>,
    pub offset: usize,
    pub limit: usize,
}

/// A page of ranked results.
pub struct Results {
    /// Each with its document and rank (1 for the best).
    pub hits: Vec<(Map<String, Value>, usize)>,
    pub total: usize,
    pub terms: Terms,
}

impl Search {
    /// Builds the index from every entity in the catalog, and keeps it current.
    pub fn open(catalog: Arc<Catalog>) -> anyhow::Result<Arc<Self>> {
        let mut schema = Schema::builder();
        let mut filters = HashMap::new();
        for name in FILTERS {
            filters.insert(
                *name,
                schema.add_text_field(&format!("filter_{name}"), STRING),
            );
        }
        let fields = Fields {
            entity_ref: schema.add_text_field("ref", STRING),
            document: schema.add_text_field("document", STORED),
            title_words: schema.add_text_field("title_words", TEXT),
            tag_words: schema.add_text_field("tag_words", TEXT),
            text_words: schema.add_text_field("text_words", TEXT),
            exact_name: schema.add_text_field("exact_name", STRING),
            filters,
        };
        let index = Index::create_in_ram(schema.build());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        // Following from before the build: a change made meanwhile is indexed again after it.
        let changes = catalog.follow();
        let search = Arc::new(Self {
            reader,
            writer: Mutex::new(writer),
            fields,
            catalog,
        });
        search.build()?;
        search.follow(changes)?;
        Ok(search)
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Indexes every entity, page by page through the catalog's own cursor.
    fn build(&self) -> anyhow::Result<()> {
        let mut writer = self.writer();
        writer.delete_all_documents()?;
        let mut cursor = Some(Cursor::first(EntityQuery::default()));
        while let Some(current) = cursor.take() {
            let page = self.catalog.query(&current, MAX_PAGE_SIZE, 0, None)?;
            for entity in &page.items {
                writer.add_document(self.document(&entity.to_value()?))?;
            }
            cursor = page.next_cursor;
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Indexes the entities `refs` name again (removing those no longer there).
    fn update(&self, refs: &[String]) -> anyhow::Result<()> {
        let mut writer = self.writer();
        for entity_ref in refs {
            let lower = entity_ref.to_lowercase();
            writer.delete_term(Term::from_field_text(self.fields.entity_ref, &lower));
            let parsed =
                EntityRef::parse(entity_ref, None, "default").map_err(anyhow::Error::msg)?;
            if let Some(entity) = self.catalog.get(&parsed)? {
                writer.add_document(self.document(&entity))?;
            }
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Follows the catalog's changes on a thread of its own; a failed batch rebuilds the
    /// whole index (the safety net), so search never stays behind.
    fn follow(self: &Arc<Self>, changes: Receiver<Vec<String>>) -> anyhow::Result<()> {
        let search = self.clone();
        std::thread::Builder::new()
            .name("search-index".into())
            .spawn(move || {
                while let Ok(first) = changes.recv() {
                    // Everything already waiting goes into the same commit.
                    let mut refs = first;
                    refs.extend(changes.try_iter().flatten());
                    refs.sort_unstable();
                    refs.dedup();
                    if let Err(error) = search.update(&refs) {
                        tracing::error!("search index update failed ({error:#}); rebuilding");
                        if let Err(error) = search.build() {
                            tracing::error!("search index rebuild failed: {error:#}");
                        }
                    }
                }
            })
            .context("cannot start the search indexer")?;
        Ok(())
    }

    /// An entity as a search document: Backstage's fields for the answer, words to match,
    /// values to filter by.
    fn document(&self, entity: &Value) -> TantivyDocument {
        let f = &self.fields;
        let entity_ref = EntityRef::of(entity);
        let metadata = &entity["metadata"];
        let spec = &entity["spec"];
        let text_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let name = text_of(&metadata["name"]);
        let title = metadata["title"]
            .as_str()
            .map_or(name.clone(), str::to_string);
        let tags: Vec<String> = metadata["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        let owner = entity["relations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["type"] == "ownedBy")
            .and_then(|r| r["targetRef"].as_str())
            .map(str::to_string);
        let kind = text_of(&entity["kind"]);
        let mut document = Map::new();
        document.insert("title".into(), json!(title));
        document.insert("text".into(), json!(text_of(&metadata["description"])));
        document.insert(
            "location".into(),
            json!(format!(
                "/catalog/{}/{}/{}",
                entity_ref.namespace, entity_ref.kind, entity_ref.name
            )),
        );
        document.insert("kind".into(), json!(kind));
        document.insert("namespace".into(), json!(entity_ref.namespace));
        document.insert("name".into(), json!(name));
        document.insert("tags".into(), json!(tags));
        for (key, value) in [
            ("lifecycle", &spec["lifecycle"]),
            ("owner", &spec["owner"]),
            ("type", &spec["type"]),
            ("system", &spec["system"]),
        ] {
            if let Some(value) = value.as_str() {
                document.insert(key.into(), json!(value));
            }
        }
        if kind.eq_ignore_ascii_case("component")
            && let Some(kind_type) = spec["type"].as_str()
        {
            document.insert("componentType".into(), json!(kind_type));
        }
        let mut doc = TantivyDocument::default();
        doc.add_text(f.entity_ref, entity_ref.to_string().to_lowercase());
        doc.add_text(f.document, Value::Object(document).to_string());
        doc.add_text(f.title_words, text::words(&format!("{title} {name}")));
        // Tags, system and owner: a team's name finds what it owns.
        doc.add_text(
            f.tag_words,
            text::words(&format!(
                "{} {} {}",
                tags.join(" "),
                text_of(&spec["system"]),
                text_of(&spec["owner"])
            )),
        );
        doc.add_text(
            f.text_words,
            text::words(&text_of(&metadata["description"])),
        );
        doc.add_text(f.exact_name, name.to_lowercase());
        let filter = |doc: &mut TantivyDocument, key: &str, value: &str| {
            doc.add_text(f.filters[key], value.to_lowercase());
        };
        filter(&mut doc, "kind", &kind);
        filter(&mut doc, "namespace", &entity_ref.namespace);
        for (key, value) in [("lifecycle", &spec["lifecycle"]), ("type", &spec["type"])] {
            if let Some(value) = value.as_str() {
                filter(&mut doc, key, value);
            }
        }
        // The owner by full ref and by name, as people write either.
        if let Some(owner) = owner {
            filter(&mut doc, "owner", &owner);
            if let Some((_, short)) = owner.rsplit_once('/') {
                filter(&mut doc, "owner", short);
            }
        }
        for tag in &tags {
            filter(&mut doc, "tags", tag);
        }
        doc
    }

    /// The engine's query for a request.
    fn query(&self, request: &Request, terms: &Terms) -> Box<dyn Query> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let word_fields = [
            (f.title_words, 3.0),
            (f.tag_words, 2.0),
            (f.text_words, 1.0),
        ];
        let last = terms.words.len().saturating_sub(1);
        for (i, word) in terms.words.iter().enumerate() {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, boost) in word_fields {
                let term = Term::from_field_text(field, word);
                any.push(boosted(
                    TermQuery::new(term.clone(), IndexRecordOption::WithFreqs),
                    boost,
                ));
                if word.chars().count() >= 5 {
                    any.push(boosted(
                        FuzzyTermQuery::new(term.clone(), 1, true),
                        boost * 0.5,
                    ));
                }
                if i == last && terms.last_is_prefix {
                    any.push(boosted(
                        FuzzyTermQuery::new_prefix(term, 0, true),
                        boost * 0.8,
                    ));
                }
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        for phrase in &terms.phrases {
            let in_field = |field: Field| -> Box<dyn Query> {
                let words: Vec<Term> = phrase
                    .iter()
                    .map(|w| Term::from_field_text(field, w))
                    .collect();
                match words.as_slice() {
                    [one] => Box::new(TermQuery::new(one.clone(), IndexRecordOption::WithFreqs)),
                    _ => Box::new(PhraseQuery::new(words)),
                }
            };
            let any = word_fields
                .iter()
                .map(|(field, boost)| boosted_box(in_field(*field), *boost))
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if must.is_empty() {
            must.push((Occur::Must, Box::new(AllQuery)));
        }
        for (key, values) in &request.filters {
            let Some(field) = f.filters.get(key.as_str()) else {
                continue;
            };
            let any = values
                .iter()
                .map(|v| -> (Occur, Box<dyn Query>) {
                    let term = Term::from_field_text(*field, &v.to_lowercase());
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    )
                })
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        // An entity whose name is exactly what was typed comes first.
        let typed = request.term.trim().trim_matches('"').to_lowercase();
        if !typed.is_empty() {
            let exact = TermQuery::new(
                Term::from_field_text(f.exact_name, &typed),
                IndexRecordOption::Basic,
            );
            must.push((Occur::Should, boosted(exact, 50.0).1));
        }
        Box::new(BooleanQuery::new(must))
    }

    /// A page of results for `request`, among what `visible` selects (all when `None`).
    pub fn search(
        &self,
        request: &Request,
        visible: Option<&Predicate>,
    ) -> anyhow::Result<Results> {
        let terms = Terms::parse(&request.term);
        let types_match =
            request.types.is_empty() || request.types.iter().any(|t| t == CATALOG_TYPE);
        if !types_match {
            return Ok(Results {
                hits: Vec::new(),
                total: 0,
                terms,
            });
        }
        let query = self.query(request, &terms);
        let searcher = self.reader.searcher();
        let (addresses, total) = match visible {
            None => {
                let top = TopDocs::with_limit(request.limit.max(1))
                    .and_offset(request.offset)
                    .order_by_score();
                let (top, total) = searcher.search(&query, &(top, Count))?;
                (top.into_iter().map(|(_, a)| a).collect::<Vec<_>>(), total)
            }
            Some(visible) => {
                let all = self.visible_matches(&searcher, &query, visible)?;
                let total = all.len();
                let page = all
                    .into_iter()
                    .skip(request.offset)
                    .take(request.limit)
                    .collect();
                (page, total)
            }
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for (i, address) in addresses.into_iter().enumerate() {
            hits.push((self.stored(&searcher, address)?, request.offset + i + 1));
        }
        Ok(Results { hits, total, terms })
    }

    /// Every match the caller may read, best first (at most [`PERMISSION_CAP`] ranked).
    fn visible_matches(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        visible: &Predicate,
    ) -> anyhow::Result<Vec<DocAddress>> {
        let top = TopDocs::with_limit(PERMISSION_CAP).order_by_score();
        let ranked = searcher.search(query, &top)?;
        let mut refs = Vec::with_capacity(ranked.len());
        for (_, address) in &ranked {
            refs.push(self.stored_ref(searcher, *address)?);
        }
        let allowed = self.catalog.refs_matching(&refs, visible.clone());
        Ok(ranked
            .into_iter()
            .zip(refs)
            .filter(|(_, r)| allowed.contains(r))
            .map(|((_, a), _)| a)
            .collect())
    }

    fn stored(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
    ) -> anyhow::Result<Map<String, Value>> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = doc
            .get_first(self.fields.document)
            .and_then(|v| v.as_str())
            .context("a search document lost its body")?;
        Ok(serde_json::from_str(text)?)
    }

    fn stored_ref(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
    ) -> anyhow::Result<String> {
        let document = self.stored(searcher, address)?;
        let text = |k: &str| document[k].as_str().unwrap_or_default().to_lowercase();
        Ok(format!(
            "{}:{}/{}",
            text("kind"),
            text("namespace"),
            text("name")
        ))
    }

    /// How many matches of `term` the caller may read there are per type and per kind.
    pub fn facets(&self, term: &str, visible: Option<&Predicate>) -> anyhow::Result<Value> {
        let request = Request {
            term: term.to_string(),
            ..Request::default()
        };
        let terms = Terms::parse(term);
        let query = self.query(&request, &terms);
        let searcher = self.reader.searcher();
        let addresses = match visible {
            Some(visible) => self.visible_matches(&searcher, query.as_ref(), visible)?,
            None => searcher
                .search(
                    &query,
                    &TopDocs::with_limit(PERMISSION_CAP).order_by_score(),
                )?
                .into_iter()
                .map(|(_, a)| a)
                .collect(),
        };
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for address in &addresses {
            let document = self.stored(&searcher, *address)?;
            if let Some(kind) = document["kind"].as_str() {
                *kinds.entry(kind.to_lowercase()).or_default() += 1;
            }
        }
        Ok(json!({"types": {CATALOG_TYPE: addresses.len()}, "kinds": kinds}))
    }
}

fn boosted(query: impl Query + 'static, boost: f32) -> (Occur, Box<dyn Query>) {
    (
        Occur::Should,
        Box::new(BoostQuery::new(Box::new(query), boost)),
    )
}

fn boosted_box(query: Box<dyn Query>, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(query, boost)))
}
