//! Search: one tantivy index over the catalog (`software-catalog` documents, with
//! Backstage's fields) and its docs (`techdocs`: one document per page section, linking to
//! its anchor), in memory beside the catalog the way the catalog's own index is: built from
//! the catalog at start-up, then kept current from the catalog's change feed (a change is
//! searchable as soon as its batch is indexed, milliseconds after the commit).
//! Queries are built from the user's words, never parsed as engine syntax: every word must
//! match (one typo forgiven in words of five letters or more the index does not know, the
//! word being typed as a prefix), quoted phrases match in order, an entity's exact name ranks first, and filters
//! narrow by kind, lifecycle, owner, type, tags and namespace. What the caller may not read
//! is dropped before paging.

pub mod api;
mod sources;
mod text;
mod types;

pub use sources::{Collected, SourceDocument};
pub use types::DocumentType;
use types::Registry;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde_json::{Map, Value, json};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TEXT, TantivyDocument, Value as _,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use crate::catalog::{Catalog, Cursor, EntityQuery, EntityRef, MAX_PAGE_SIZE, Predicate, Touched};
use crate::techdocs::TechDocs;
use text::Terms;

pub const CATALOG_TYPE: &str = "software-catalog";
pub const DOCS_TYPE: &str = "techdocs";
/// The source of the built-in types.
const BUILTIN_SOURCE: &str = "greenroom";

/// The fields documents can be filtered on (`filters[kind]=...`), each from the entity.
const FILTERS: &[&str] = &[
    "kind",
    "lifecycle",
    "owner",
    "type",
    "tags",
    "namespace",
    "name",
];
/// Most matches ranked when the caller's permissions must be checked one by one.
const PERMISSION_CAP: usize = 10_000;
/// Most longer words a word being typed stands for (a single character stands for
/// fewer: they say little about what is being typed and each costs a posting list), and
/// most looked at per segment.
const PREFIX_TERMS: usize = 32;
const ONE_CHARACTER_TERMS: usize = 8;
const PREFIX_SCAN: usize = 4096;
/// The index writer's memory budget.
const WRITER_MEMORY: usize = 30 << 20;

struct Fields {
    /// The entity a document is about (a docs section: the entity whose docs they are); a
    /// source's document about no entity has none.
    entity_ref: Field,
    doc_type: Field,
    /// Who provides the document (`greenroom`, or a plugin) and, for a source's documents,
    /// its type and id (see `sources`).
    source: Field,
    key: Field,
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
    docs: Arc<TechDocs>,
    /// The entities whose docs each site folder holds, to index again when it is rebuilt.
    documented: Mutex<HashMap<PathBuf, Vec<String>>>,
    /// The document types there are: what `types[]` may name and the facets count.
    types: Registry,
    pub settings: SearchSettings,
}

/// The operator's limits on queries: `search.maxTermLength` and `search.maxPageLimit`, as
/// in Backstage (100 each by default).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSettings {
    pub max_term_length: usize,
    pub max_page_limit: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            max_term_length: 100,
            max_page_limit: 100,
        }
    }
}

/// One query, as the API takes it.
#[derive(Debug, Default)]
pub struct Request {
    pub term: String,
    pub types: Vec<String>,
    /// Sources whose documents the caller may not see (plugins whose UI they may not).
    pub hidden_sources: Vec<String>,
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
    pub fn open(
        catalog: Arc<Catalog>,
        docs: Arc<TechDocs>,
        settings: SearchSettings,
    ) -> anyhow::Result<Arc<Self>> {
        let mut schema = Schema::builder();
        let mut filters = HashMap::new();
        for name in FILTERS {
            // Kinds are counted from a column (facets), the other filters only matched.
            let options = if *name == "kind" {
                STRING | FAST
            } else {
                STRING
            };
            filters.insert(
                *name,
                schema.add_text_field(&format!("filter_{name}"), options),
            );
        }
        let fields = Fields {
            entity_ref: schema.add_text_field("ref", STRING | FAST),
            doc_type: schema.add_text_field("type", STRING | FAST),
            source: schema.add_text_field("source", STRING),
            key: schema.add_text_field("key", STRING),
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
        let rebuilt = docs.follow();
        let search = Arc::new(Self {
            reader,
            writer: Mutex::new(writer),
            fields,
            catalog,
            docs,
            documented: Mutex::default(),
            types: Registry::default(),
            settings,
        });
        // The built-in types register like any other source's (plugins through the contract).
        for (name, title) in [
            (CATALOG_TYPE, "Software Catalog"),
            (DOCS_TYPE, "Documentation"),
        ] {
            search
                .types
                .register(DocumentType::builtin(name, title))
                .map_err(anyhow::Error::msg)?;
        }
        search.build()?;
        search.follow(changes)?;
        search.follow_docs(rebuilt)?;
        Ok(search)
    }

    /// The document types there are, in the order the UI lists them.
    pub fn types(&self) -> Vec<DocumentType> {
        self.types.list()
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Indexes every entity, page by page through the catalog's own cursor (other sources'
    /// documents stay).
    fn build(&self) -> anyhow::Result<()> {
        let mut writer = self.writer();
        writer.delete_term(Term::from_field_text(self.fields.source, BUILTIN_SOURCE));
        let mut cursor = Some(Cursor::first(EntityQuery::default()));
        while let Some(current) = cursor.take() {
            let page = self.catalog.query(&current, MAX_PAGE_SIZE, 0, None)?;
            for entity in &page.items {
                for document in self.documents(&entity.to_value()?) {
                    writer.add_document(document)?;
                }
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
            // The entity's own documents; those other sources wrote about it stay.
            let lower = entity_ref.to_lowercase();
            writer.delete_query(Box::new(BooleanQuery::new(vec![
                (Occur::Must, term_query(self.fields.entity_ref, &lower)),
                (Occur::Must, term_query(self.fields.source, BUILTIN_SOURCE)),
            ])))?;
            let parsed =
                EntityRef::parse(entity_ref, None, "default").map_err(anyhow::Error::msg)?;
            if let Some(entity) = self.catalog.get(&parsed)? {
                for document in self.documents(&entity) {
                    writer.add_document(document)?;
                }
            }
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Follows the catalog's changes on a thread of its own; a failed batch rebuilds the
    /// whole index (the safety net), so search never stays behind.
    fn follow(self: &Arc<Self>, changes: Receiver<Vec<Touched>>) -> anyhow::Result<()> {
        let search = self.clone();
        std::thread::Builder::new()
            .name("search-index".into())
            .spawn(move || {
                while let Ok(first) = changes.recv() {
                    // Everything already waiting goes into the same commit.
                    let mut refs: Vec<String> = first
                        .into_iter()
                        .chain(changes.try_iter().flatten())
                        .map(|touched| touched.entity_ref)
                        .collect();
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

    /// Indexes an entity's docs again whenever its site is rebuilt.
    fn follow_docs(self: &Arc<Self>, rebuilt: Receiver<PathBuf>) -> anyhow::Result<()> {
        let search = self.clone();
        std::thread::Builder::new()
            .name("search-docs".into())
            .spawn(move || {
                while let Ok(root) = rebuilt.recv() {
                    // Built sites know their folder with links resolved.
                    let root = root.canonicalize().unwrap_or(root);
                    let refs = search
                        .documented
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&root)
                        .cloned()
                        .unwrap_or_default();
                    if let Err(error) = search.update(&refs) {
                        tracing::error!("search index update for docs failed: {error:#}");
                    }
                }
            })
            .context("cannot start the docs indexer")?;
        Ok(())
    }

    /// An entity's documents: its own, and one per section of its docs when it has any.
    fn documents(&self, entity: &Value) -> Vec<TantivyDocument> {
        let mut documents = vec![self.document(entity)];
        let has_docs = entity["metadata"]["annotations"][crate::techdocs::TECHDOCS_REF].is_string();
        if has_docs {
            documents.extend(self.docs_sections(entity));
        }
        documents
    }

    /// The sections of an entity's docs site as `techdocs` documents (Backstage's fields:
    /// the section's title and text, location and path with its anchor, the entity's kind,
    /// namespace, name (lowercase), title, type, lifecycle and owner's name; and the page's
    /// title). A site that does not build has none.
    fn docs_sections(&self, entity: &Value) -> Vec<TantivyDocument> {
        let entity_ref = EntityRef::of(entity);
        let site = match self.docs.site(&entity_ref) {
            Ok(site) => site,
            Err(error) => {
                tracing::debug!(entity = %entity_ref, "no docs to index: {error}");
                return Vec::new();
            }
        };
        let built = &site.built;
        let mut documented = self.documented.lock().unwrap_or_else(|e| e.into_inner());
        let refs = documented.entry(built.root.clone()).or_default();
        if !refs.contains(&entity_ref.to_string()) {
            refs.push(entity_ref.to_string());
        }
        drop(documented);
        let metadata = &entity["metadata"];
        let spec = &entity["spec"];
        let spec_type = spec["type"].as_str().unwrap_or("other");
        let owner = owner_ref(entity).map_or("", short_name);
        let base = format!(
            "/docs/{}/{}/{}",
            entity_ref.namespace, entity_ref.kind, entity_ref.name
        );
        built
            .sections()
            .into_iter()
            .map(|section| {
                let page_title = built.title_of(&section.src);
                let page_path = built.reader_path(&section.src).unwrap_or_default();
                // As MkDocs' search index: a section is titled by its heading, its path
                // ends in its anchor.
                let (title, path) = match &section.heading {
                    Some((id, heading)) => (heading.clone(), format!("{page_path}#{id}")),
                    None => (page_title.clone(), page_path),
                };
                let mut document = Map::new();
                document.insert("title".into(), json!(title));
                document.insert("text".into(), json!(section.text));
                document.insert("location".into(), json!(format!("{base}/{path}")));
                document.insert("path".into(), json!(path));
                // The ref's parts, lowercase as Backstage's docs collator gives them.
                document.insert("kind".into(), json!(entity_ref.kind));
                document.insert("namespace".into(), json!(entity_ref.namespace));
                document.insert("name".into(), json!(entity_ref.name));
                if let Some(entity_title) = metadata["title"].as_str() {
                    document.insert("entityTitle".into(), json!(entity_title));
                }
                document.insert("componentType".into(), json!(spec_type));
                document.insert("type".into(), json!(spec_type));
                document.insert(
                    "lifecycle".into(),
                    json!(spec["lifecycle"].as_str().unwrap_or_default()),
                );
                document.insert("owner".into(), json!(owner));
                // Ours: the page a section belongs to, for showing it beside the heading.
                document.insert("pageTitle".into(), json!(page_title));
                let mut doc = self.base(&entity_ref, DOCS_TYPE, document, entity);
                doc.add_text(
                    self.fields.title_words,
                    text::words(&format!("{page_title} {title}")),
                );
                doc.add_text(self.fields.text_words, text::words(&section.text));
                doc
            })
            .collect()
    }

    /// What every document has: its entity, type and answer, and the entity's filter
    /// values.
    fn base(
        &self,
        entity_ref: &EntityRef,
        doc_type: &str,
        document: Map<String, Value>,
        entity: &Value,
    ) -> TantivyDocument {
        let f = &self.fields;
        let spec = &entity["spec"];
        let mut doc = TantivyDocument::default();
        doc.add_text(f.entity_ref, entity_ref.to_string().to_lowercase());
        doc.add_text(f.doc_type, doc_type);
        doc.add_text(f.source, BUILTIN_SOURCE);
        doc.add_text(
            f.document,
            json!({"type": doc_type, "document": document}).to_string(),
        );
        let filter = |doc: &mut TantivyDocument, key: &str, value: &str| {
            doc.add_text(f.filters[key], value.to_lowercase());
        };
        filter(
            &mut doc,
            "kind",
            entity["kind"].as_str().unwrap_or_default(),
        );
        filter(&mut doc, "namespace", &entity_ref.namespace);
        filter(&mut doc, "name", &entity_ref.name);
        for (key, value) in [("lifecycle", &spec["lifecycle"]), ("type", &spec["type"])] {
            if let Some(value) = value.as_str() {
                filter(&mut doc, key, value);
            }
        }
        // The owner by full ref and by name, as people write either.
        if let Some(owner) = owner_ref(entity) {
            filter(&mut doc, "owner", owner);
            filter(&mut doc, "owner", short_name(owner));
        }
        for tag in entity["metadata"]["tags"].as_array().into_iter().flatten() {
            filter(&mut doc, "tags", tag.as_str().unwrap_or_default());
        }
        doc
    }

    /// An entity as a `software-catalog` document: Backstage's fields for the answer, words
    /// to match, values to filter by.
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
        let kind = text_of(&entity["kind"]);
        let text = catalog_text(entity);
        let mut document = Map::new();
        document.insert("title".into(), json!(title));
        document.insert("text".into(), json!(text));
        document.insert("location".into(), json!(entity_ref.page_path()));
        // Backstage's fields and defaults (its catalog collator's), then ours: tags, system.
        document.insert("kind".into(), json!(kind));
        document.insert(
            "namespace".into(),
            json!(metadata["namespace"].as_str().unwrap_or("default")),
        );
        document.insert("name".into(), json!(name));
        let spec_type = spec["type"].as_str().unwrap_or("other");
        document.insert("componentType".into(), json!(spec_type));
        document.insert("type".into(), json!(spec_type));
        document.insert("lifecycle".into(), json!(text_of(&spec["lifecycle"])));
        document.insert("owner".into(), json!(text_of(&spec["owner"])));
        document.insert("tags".into(), json!(tags));
        if let Some(system) = spec["system"].as_str() {
            document.insert("system".into(), json!(system));
        }
        let mut doc = self.base(&entity_ref, CATALOG_TYPE, document, entity);
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
        doc.add_text(f.text_words, text::words(&text));
        doc.add_text(f.exact_name, name.to_lowercase());
        doc
    }

    /// The engine's query for a request.
    fn query(
        &self,
        searcher: &tantivy::Searcher,
        request: &Request,
        terms: &Terms,
    ) -> Box<dyn Query> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let word_fields = [
            (f.title_words, 3.0),
            (f.tag_words, 2.0),
            (f.text_words, 1.0),
        ];
        let last = terms.words.len().saturating_sub(1);
        for (i, word) in terms.words.iter().enumerate() {
            // A typo is forgiven in a word the index does not know: a known word is meant
            // as written (and its neighbours need not be looked up).
            let known = word_fields.iter().any(|(field, _)| {
                searcher
                    .doc_freq(&Term::from_field_text(*field, word))
                    .is_ok_and(|n| n > 0)
            });
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, boost) in word_fields {
                let term = Term::from_field_text(field, word);
                any.push(boosted(
                    TermQuery::new(term.clone(), IndexRecordOption::WithFreqs),
                    boost,
                ));
                if !known && word.chars().count() >= 5 {
                    any.push(boosted(
                        FuzzyTermQuery::new(term.clone(), 1, true),
                        boost * 0.5,
                    ));
                }
                if i == last && terms.last_is_prefix {
                    for longer in extensions(searcher, field, word) {
                        any.push(boosted(
                            TermQuery::new(longer, IndexRecordOption::WithFreqs),
                            boost * 0.8,
                        ));
                    }
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
        // Types and filters narrow: any of the values, adding nothing to the score. (A term
        // set is slower here: it reads every posting of a common value up front.)
        let one_of = |field: Field, values: &[String]| -> (Occur, Box<dyn Query>) {
            let any = values
                .iter()
                .map(|v| -> (Occur, Box<dyn Query>) {
                    let term = Term::from_field_text(field, &v.to_lowercase());
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    )
                })
                .collect();
            let any = BooleanQuery::new(any);
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(any), 0.0)),
            )
        };
        if !request.types.is_empty() {
            must.push(one_of(f.doc_type, &request.types));
        }
        for hidden in &request.hidden_sources {
            must.push((Occur::MustNot, term_query(f.source, hidden)));
        }
        for (key, values) in &request.filters {
            // Backstage's `componentType` is the same value as `type`; a field no document
            // is filtered on matches nothing (as in Backstage, where a document without the
            // field does not match).
            let key = if key == "componentType" { "type" } else { key };
            match f.filters.get(key) {
                Some(field) => must.push(one_of(*field, values)),
                None => must.push((Occur::Must, Box::new(EmptyQuery))),
            }
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
        let searcher = self.reader.searcher();
        let query = self.query(&searcher, request, &terms);
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
        let column = Column::open(searcher, "ref")?;
        let mut refs = Vec::with_capacity(ranked.len());
        for (_, address) in &ranked {
            refs.push(column.first(*address)?);
        }
        let about: Vec<String> = refs.iter().filter(|r| !r.is_empty()).cloned().collect();
        let allowed = self.catalog.refs_matching(&about, visible.clone());
        // A document about no entity is a source's, already narrowed to the sources the
        // caller may see.
        Ok(ranked
            .into_iter()
            .zip(refs)
            .filter(|(_, r)| r.is_empty() || allowed.contains(r))
            .map(|((_, a), _)| a)
            .collect())
    }

    /// A match's `{type, document}`.
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

    /// How many matches of the request's term the caller may read there are per type and
    /// per kind (its types, filters and page left aside).
    pub fn facets(&self, request: &Request, visible: Option<&Predicate>) -> anyhow::Result<Value> {
        let request = Request {
            term: request.term.clone(),
            hidden_sources: request.hidden_sources.clone(),
            ..Request::default()
        };
        let terms = Terms::parse(&request.term);
        let searcher = self.reader.searcher();
        let query = self.query(&searcher, &request, &terms);
        let mut types: BTreeMap<String, usize> = self
            .types()
            .into_iter()
            .filter(|t| !request.hidden_sources.contains(&t.source))
            .map(|t| (t.name, 0))
            .collect();
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        match visible {
            // Matches are checked one by one, so they are counted one by one (from the
            // index's columns, reading no document).
            Some(visible) => {
                let (type_of, kind_of) = (
                    Column::open(&searcher, "type")?,
                    Column::open(&searcher, "filter_kind")?,
                );
                for address in self.visible_matches(&searcher, query.as_ref(), visible)? {
                    if let Some(count) = types.get_mut(&type_of.first(address)?) {
                        *count += 1;
                    }
                    let kind = kind_of.first(address)?;
                    if !kind.is_empty() {
                        *kinds.entry(kind).or_default() += 1;
                    }
                }
            }
            // Everything may be read: exact counts of the query narrowed to each value,
            // reading no document.
            None => {
                let count = |field: Field, value: &str| -> anyhow::Result<usize> {
                    let narrowed = BooleanQuery::new(vec![
                        (Occur::Must, query.box_clone()),
                        (Occur::Must, term_query(field, value)),
                    ]);
                    Ok(searcher.search(&narrowed, &Count)?)
                };
                for (doc_type, n) in types.iter_mut() {
                    *n = count(self.fields.doc_type, doc_type)?;
                }
                let kind_field = self.fields.filters["kind"];
                for kind in indexed_values(&searcher, kind_field)? {
                    let n = count(kind_field, &kind)?;
                    if n > 0 {
                        kinds.insert(kind, n);
                    }
                }
            }
        }
        Ok(json!({"types": types, "kinds": kinds}))
    }
}

/// The words of `field` that begin with `prefix` (but are longer), for the word being
/// typed: the [`PREFIX_TERMS`] ([`ONE_CHARACTER_TERMS`]) found in most documents among
/// the first [`PREFIX_SCAN`] in each segment. Scored terms, unlike a prefix automaton, rank by how well they match
/// and cost nothing when the typed word is already whole.
fn extensions(searcher: &tantivy::Searcher, field: Field, prefix: &str) -> Vec<Term> {
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inverted.terms().range().gt(prefix).into_stream() else {
            continue;
        };
        let mut scanned = 0;
        while scanned < PREFIX_SCAN && stream.advance() {
            if !stream.key().starts_with(prefix.as_bytes()) {
                break;
            }
            *found.entry(stream.key().to_vec()).or_default() += u64::from(stream.value().doc_freq);
            scanned += 1;
        }
    }
    let mut found: Vec<(Vec<u8>, u64)> = found.into_iter().collect();
    found.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    found
        .into_iter()
        .take(if prefix.chars().nth(1).is_some() {
            PREFIX_TERMS
        } else {
            ONE_CHARACTER_TERMS
        })
        .filter_map(|(key, _)| {
            Some(Term::from_field_text(
                field,
                std::str::from_utf8(&key).ok()?,
            ))
        })
        .collect()
}

/// A keyword field's values by segment, from the index's columns: read per match without
/// loading its stored document.
struct Column(Vec<Option<tantivy::columnar::StrColumn>>);

impl Column {
    fn open(searcher: &tantivy::Searcher, field: &str) -> anyhow::Result<Self> {
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.fast_fields().str(field))
            .collect::<tantivy::Result<_>>()?;
        Ok(Self(columns))
    }

    /// The first value a match has (empty when it has none).
    fn first(&self, address: DocAddress) -> anyhow::Result<String> {
        let mut value = String::new();
        if let Some(column) = &self.0[address.segment_ord as usize]
            && let Some(ord) = column.term_ords(address.doc_id).next()
        {
            column.ord_to_str(ord, &mut value)?;
        }
        Ok(value)
    }
}

/// Every value a keyword field holds in the index (a removed document's may linger until
/// its segment is merged: callers count before they show one).
fn indexed_values(searcher: &tantivy::Searcher, field: Field) -> anyhow::Result<Vec<String>> {
    let mut values = std::collections::BTreeSet::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().stream()?;
        while stream.advance() {
            values.insert(String::from_utf8_lossy(stream.key()).into_owned());
        }
    }
    Ok(values.into_iter().collect())
}

/// A catalog document's text as Backstage's collator writes it: the description, then a
/// person's or group's display name and a person's email, each after ` : `.
fn catalog_text(entity: &Value) -> String {
    let mut text = entity["metadata"]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kind = entity["kind"].as_str().unwrap_or_default();
    let profile = &entity["spec"]["profile"];
    let mut add = |value: &Value| {
        if let Some(value) = value.as_str().filter(|v| !v.is_empty()) {
            text.push_str(" : ");
            text.push_str(value);
        }
    };
    if kind.eq_ignore_ascii_case("user") || kind.eq_ignore_ascii_case("group") {
        add(&profile["displayName"]);
    }
    if kind.eq_ignore_ascii_case("user") {
        add(&profile["email"]);
    }
    text
}

/// The full ref of an entity's owner (its `ownedBy` relation).
fn owner_ref(entity: &Value) -> Option<&str> {
    entity["relations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == "ownedBy")
        .and_then(|r| r["targetRef"].as_str())
}

/// A ref's name (`group:default/payments` → `payments`), as Backstage's docs collator gives
/// an owner.
fn short_name(entity_ref: &str) -> &str {
    entity_ref.rsplit(['/', ':']).next().unwrap_or(entity_ref)
}

fn term_query(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
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
