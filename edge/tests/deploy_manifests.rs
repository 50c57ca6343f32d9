//! The Kubernetes manifests in deploy/ are parsed and checked against the
//! code they deploy: every document is valid YAML of a known kind, every
//! Service selects a workload and targets one of its ports, every referenced
//! ConfigMap/Secret is defined (or documented as the operator's to create),
//! each zone's probes hit its real health path and it migrates before it
//! starts, and the edge's route table parses with the edge's own parser and
//! sends each zone's prefixes to that zone's Service. And a deployment is a
//! production one: identity signs in with a real (https, not loopback)
//! provider whose client secret comes from a Secret, and nothing routes to
//! or configures the development-only mock provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is the report

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use contracts::Zone;
use contracts::zone::MOCK_IDP_PREFIX;
use edge::manifest::{Manifest, standard_limits};
use edge::routes::RouteTable;
use edge::target::Target;
use edge::trusted::TrustedProxies;
use serde::Deserialize as _;
use serde_yaml::Value;

const NAMESPACE: &str = "meridian";
/// Secrets the manifests use that the operator creates (docs/deploy.md says how).
const OPERATOR_SECRETS: &[&str] = &["meridian-oidc-client", "meridian-tls"];

struct Doc {
    file: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(dir: &str) -> Vec<Doc> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|err| panic!("cannot list {dir}: {err}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {dir}");
    let mut docs = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = Value::deserialize(document)
                .unwrap_or_else(|err| panic!("{file} is not valid YAML: {err}"));
            if !value.is_null() {
                docs.push(Doc {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    docs
}

fn str_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().unwrap().to_owned(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| format!("{v:?}")),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn seq(value: &Value) -> &[Value] {
    value.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

fn every_doc() -> Vec<Doc> {
    let mut docs = load("deploy/k8s");
    docs.extend(load("deploy/k8s-ingress-only"));
    docs
}

fn find<'a>(docs: &'a [Doc], kind: &str, name: &str) -> &'a Doc {
    docs.iter()
        .find(|d| d.kind() == kind && d.name() == name)
        .unwrap_or_else(|| panic!("no {kind} named {name}"))
}

#[test]
fn every_document_is_a_known_kind_in_the_namespace() {
    let known = [
        ("v1", "Namespace"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("networking.k8s.io/v1", "Ingress"),
    ];
    for doc in every_doc() {
        let api = doc.value["apiVersion"].as_str().unwrap_or_default();
        assert!(
            known.contains(&(api, doc.kind())),
            "{}: unknown {api} {}",
            doc.file,
            doc.kind()
        );
        assert!(
            !doc.name().is_empty(),
            "{}: a document without a name",
            doc.file
        );
        if doc.kind() != "Namespace" {
            assert_eq!(
                doc.value["metadata"]["namespace"].as_str(),
                Some(NAMESPACE),
                "{}: {} {} is outside the namespace",
                doc.file,
                doc.kind(),
                doc.name()
            );
        }
    }
}

#[test]
fn services_select_workloads_and_target_their_ports() {
    let docs = every_doc();
    let workloads: Vec<&Doc> = docs
        .iter()
        .filter(|d| matches!(d.kind(), "Deployment" | "StatefulSet"))
        .collect();
    for workload in &workloads {
        let selector = str_map(&workload.value["spec"]["selector"]["matchLabels"]);
        let labels = str_map(&workload.value["spec"]["template"]["metadata"]["labels"]);
        assert!(!selector.is_empty(), "{} has no selector", workload.name());
        for (key, value) in &selector {
            assert_eq!(
                labels.get(key),
                Some(value),
                "{}: selector does not match its pods",
                workload.name()
            );
        }
    }
    for service in docs.iter().filter(|d| d.kind() == "Service") {
        let selector = str_map(&service.value["spec"]["selector"]);
        let target = workloads
            .iter()
            .find(|w| {
                let labels = str_map(&w.value["spec"]["template"]["metadata"]["labels"]);
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .unwrap_or_else(|| panic!("Service {} selects no workload", service.name()));
        let container_ports: Vec<&Value> =
            seq(&target.value["spec"]["template"]["spec"]["containers"])
                .iter()
                .flat_map(|c| seq(&c["ports"]))
                .collect();
        for port in seq(&service.value["spec"]["ports"]) {
            let wanted = &port["targetPort"];
            let found = container_ports.iter().any(|p| match wanted {
                Value::String(name) => p["name"].as_str() == Some(name),
                Value::Number(n) => p["containerPort"].as_u64() == n.as_u64(),
                _ => false,
            });
            assert!(
                found,
                "Service {}: targetPort {wanted:?} is not a port of {}",
                service.name(),
                target.name()
            );
        }
    }
}

#[test]
fn referenced_config_and_secrets_exist() {
    let docs = every_doc();
    let defined: BTreeSet<(&str, &str)> = docs.iter().map(|d| (d.kind(), d.name())).collect();
    let deploy_doc =
        std::fs::read_to_string(root().join("docs/deploy.md")).expect("docs/deploy.md");
    let mut references = Vec::new();
    for doc in &docs {
        let pod = &doc.value["spec"]["template"]["spec"];
        for container in seq(&pod["containers"])
            .iter()
            .chain(seq(&pod["initContainers"]))
        {
            for source in seq(&container["envFrom"]) {
                if let Some(name) = source["configMapRef"]["name"].as_str() {
                    references.push(("ConfigMap", name.to_owned()));
                }
                if let Some(name) = source["secretRef"]["name"].as_str() {
                    references.push(("Secret", name.to_owned()));
                }
            }
            for var in seq(&container["env"]) {
                let from = &var["valueFrom"];
                if let Some(name) = from["configMapKeyRef"]["name"].as_str() {
                    references.push(("ConfigMap", name.to_owned()));
                }
                if let Some(name) = from["secretKeyRef"]["name"].as_str() {
                    references.push(("Secret", name.to_owned()));
                }
            }
        }
        for volume in seq(&pod["volumes"]) {
            if let Some(name) = volume["configMap"]["name"].as_str() {
                references.push(("ConfigMap", name.to_owned()));
            }
            if let Some(name) = volume["secret"]["secretName"].as_str() {
                references.push(("Secret", name.to_owned()));
            }
        }
        for tls in seq(&doc.value["spec"]["tls"]) {
            references.push(("Secret", tls["secretName"].as_str().unwrap().to_owned()));
        }
    }
    assert!(!references.is_empty());
    for (kind, name) in references {
        if OPERATOR_SECRETS.contains(&name.as_str()) {
            assert!(
                deploy_doc.contains(&name),
                "docs/deploy.md does not say how to create {name}"
            );
        } else {
            assert!(
                defined.contains(&(kind, name.as_str())),
                "{kind} {name} is referenced but not defined"
            );
        }
    }
}

/// Every variable a container gets: its `env` plus the keys of the
/// ConfigMaps and Secrets in its `envFrom`. A variable taken from a key
/// (`valueFrom`) reads `<secretKeyRef|configMapKeyRef>:<name>/<key>`.
fn environment(docs: &[Doc], container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for source in seq(&container["envFrom"]) {
        let (kind, name) = match (
            source["configMapRef"]["name"].as_str(),
            source["secretRef"]["name"].as_str(),
        ) {
            (Some(name), _) => ("ConfigMap", name),
            (_, Some(name)) => ("Secret", name),
            _ => panic!("an envFrom of neither kind"),
        };
        let data = &find(docs, kind, name).value;
        env.extend(str_map(&data["data"]));
        env.extend(str_map(&data["stringData"]));
    }
    for var in seq(&container["env"]) {
        let from = &var["valueFrom"];
        let value = ["secretKeyRef", "configMapKeyRef"]
            .into_iter()
            .find_map(|kind| {
                let reference = &from[kind];
                Some(format!(
                    "{kind}:{}/{}",
                    reference["name"].as_str()?,
                    reference["key"].as_str()?
                ))
            })
            .unwrap_or_else(|| var["value"].as_str().unwrap_or_default().to_owned());
        env.insert(var["name"].as_str().unwrap().to_owned(), value);
    }
    env
}

#[test]
fn each_zone_migrates_first_and_is_probed_on_its_health_path() {
    let docs = load("deploy/k8s");
    for zone in Zone::ALL {
        let deployment = find(&docs, "Deployment", zone.name());
        let pod = &deployment.value["spec"]["template"]["spec"];
        let container = &seq(&pod["containers"])[0];
        let image = container["image"].as_str().unwrap();
        assert!(image.contains(zone.package()), "{zone}: image {image}");
        for probe in ["readinessProbe", "livenessProbe"] {
            assert_eq!(
                container[probe]["httpGet"]["path"].as_str(),
                Some(zone.health_path().as_str()),
                "{zone}: {probe}"
            );
        }
        let env = environment(&docs, container);
        for required in [
            "DATABASE_URL",
            "PUBLIC_ORIGIN",
            "LEPTOS_SITE_ADDR",
            "LEPTOS_SITE_ROOT",
            "LEPTOS_ENV",
        ] {
            assert!(env.contains_key(required), "{zone} lacks {required}");
        }
        assert!(
            env["DATABASE_URL"].starts_with("postgres://"),
            "{zone}: several replicas need PostgreSQL"
        );
        let port: u64 = env["LEPTOS_SITE_ADDR"]
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            seq(&container["ports"])[0]["containerPort"].as_u64(),
            Some(port),
            "{zone}: listens on another port than it declares"
        );
        let migrate = &seq(&pod["initContainers"])[0];
        assert_eq!(
            migrate["image"].as_str(),
            Some(image),
            "{zone}: migrates with another image"
        );
        assert_eq!(seq(&migrate["args"]), [Value::from("--migrate")]);
        assert!(environment(&docs, migrate).contains_key("DATABASE_URL"));
    }
}

#[test]
fn identity_signs_in_with_a_real_provider() {
    let docs = load("deploy/k8s");
    let deployment = find(&docs, "Deployment", "identity");
    let pod = &deployment.value["spec"]["template"]["spec"];
    for container in seq(&pod["containers"])
        .iter()
        .chain(seq(&pod["initContainers"]))
    {
        let name = container["name"].as_str().unwrap();
        let env = environment(&docs, container);
        let issuer = env
            .get("OIDC_ISSUER_URL")
            .unwrap_or_else(|| panic!("{name}: no OIDC_ISSUER_URL"));
        let uri: http::Uri = issuer.parse().expect("OIDC_ISSUER_URL is a URL");
        assert_eq!(uri.scheme_str(), Some("https"), "{name}: {issuer}");
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let loopback = host == "localhost"
            || host.ends_with(".localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
        assert!(!loopback, "{name}: issuer on a loopback address: {issuer}");
        assert!(
            !issuer.contains("mock-idp"),
            "{name}: issuer is the mock: {issuer}"
        );
        assert!(
            !env.get("OIDC_CLIENT_ID").is_none_or(String::is_empty),
            "{name}: no OIDC_CLIENT_ID"
        );
        // The secret comes from a Secret's key, never a plain value or a ConfigMap.
        let secret = env
            .get("OIDC_CLIENT_SECRET")
            .unwrap_or_else(|| panic!("{name}: no OIDC_CLIENT_SECRET"));
        assert!(
            secret.starts_with("secretKeyRef:"),
            "{name}: OIDC_CLIENT_SECRET is not from a secretKeyRef: {secret}"
        );
        assert!(
            !env.contains_key("ALLOW_INSECURE_ISSUER"),
            "{name}: the issuer check is switched off"
        );
    }
}

/// Every string in a document, keys and values, depth first.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Mapping(map) => {
            for (k, v) in map {
                strings(k, out);
                strings(v, out);
            }
        }
        Value::Tagged(tagged) => strings(&tagged.value, out),
        _ => {}
    }
}

#[test]
fn nothing_routes_to_or_configures_the_mock_provider() {
    let docs = every_doc();
    for doc in &docs {
        let mut all = Vec::new();
        strings(&doc.value, &mut all);
        for s in all {
            let lower = s.to_ascii_lowercase();
            assert!(
                !lower.contains("mock-idp") && !lower.contains("mock_idp"),
                "{}: {} {} mentions the mock provider: {s:?}",
                doc.file,
                doc.kind(),
                doc.name()
            );
        }
    }
    // The edge's table: no route for the prefix, so it falls to the public zone.
    let routes = find(&docs, "ConfigMap", "edge-routes");
    let manifest = Manifest::parse(routes.value["data"]["routes.toml"].as_str().unwrap()).unwrap();
    assert!(
        manifest
            .routes
            .iter()
            .all(|r| !r.prefix.starts_with(MOCK_IDP_PREFIX))
    );
    let table = RouteTable::from_manifest(&manifest, Duration::from_secs(1)).unwrap();
    assert_eq!(
        table.resolve("/mock-idp/authorize").target,
        Target::Zone(Zone::Public)
    );
    // No Ingress path for it either.
    for ingress in docs.iter().filter(|d| d.kind() == "Ingress") {
        for rule in seq(&ingress.value["spec"]["rules"]) {
            for path in seq(&rule["http"]["paths"]) {
                let path = path["path"].as_str().unwrap();
                assert!(!path.starts_with(MOCK_IDP_PREFIX), "Ingress path {path}");
            }
        }
    }
    // No MOCK_IDP* variable reaches any container.
    for doc in &docs {
        let pod = &doc.value["spec"]["template"]["spec"];
        for container in seq(&pod["containers"])
            .iter()
            .chain(seq(&pod["initContainers"]))
        {
            let env = environment(&docs, container);
            assert!(
                env.keys().all(|k| !k.contains("MOCK_IDP")),
                "{}: {:?}",
                doc.name(),
                env.keys()
            );
        }
    }
}

/// The host:port each zone's Service answers on inside the cluster.
fn service_addresses(docs: &[Doc]) -> BTreeMap<String, Zone> {
    Zone::ALL
        .iter()
        .map(|&zone| {
            let service = find(docs, "Service", zone.name());
            let port = seq(&service.value["spec"]["ports"])[0]["port"]
                .as_u64()
                .unwrap();
            (
                format!("{}.{NAMESPACE}.svc.cluster.local:{port}", zone.name()),
                zone,
            )
        })
        .collect()
}

#[test]
fn the_edge_route_table_parses_and_sends_each_zone_to_its_service() {
    let docs = load("deploy/k8s");
    let routes = find(&docs, "ConfigMap", "edge-routes");
    let text = routes.value["data"]["routes.toml"].as_str().unwrap();
    let manifest = Manifest::parse(text).unwrap_or_else(|err| panic!("routes.toml: {err}"));
    RouteTable::from_manifest(&manifest, Duration::from_secs(1)).expect("a valid route table");
    let services = service_addresses(&docs);
    let mut prefixes: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for route in &manifest.routes {
        let zone: Zone = route.zone.parse().unwrap();
        for upstream in &route.upstreams {
            assert_eq!(
                services.get(upstream),
                Some(&zone),
                "{}: upstream {upstream}",
                route.prefix
            );
        }
        prefixes
            .entry(zone.name())
            .or_default()
            .insert(route.prefix.clone());
    }
    for zone in Zone::ALL {
        let expected: BTreeSet<String> = zone.prefixes().iter().map(|p| (*p).to_owned()).collect();
        assert_eq!(
            prefixes.get(zone.name()),
            Some(&expected),
            "{zone}'s prefixes"
        );
    }
    // The deployed edge limits the same anonymous writes as the compiled-in
    // table (the mock's authorize aside: it is not deployed), and keeps
    // limits on.
    for limit in standard_limits()
        .into_iter()
        .filter(|l| !l.path.starts_with(MOCK_IDP_PREFIX))
    {
        assert!(
            manifest.limits.contains(&limit),
            "routes.toml does not limit {limit:?}"
        );
    }
    // The edge reads the table where the ConfigMap is mounted.
    let edge = find(&docs, "Deployment", "edge");
    let container = &seq(&edge.value["spec"]["template"]["spec"]["containers"])[0];
    let env = environment(&docs, container);
    assert!(
        env.get("EDGE_RATE_LIMITS")
            .is_none_or(|v| !matches!(v.as_str(), "false" | "0" | "no" | "off")),
        "rate limits switched off in production"
    );
    // The ingress pods' range parses as the edge parses it (it refuses to
    // start otherwise) and names private addresses, not the internet.
    let proxies = env
        .get("EDGE_TRUSTED_PROXIES")
        .expect("EDGE_TRUSTED_PROXIES: the edge sits behind the ingress");
    let trusted: TrustedProxies = proxies
        .parse()
        .unwrap_or_else(|err| panic!("EDGE_TRUSTED_PROXIES: {err}"));
    for public in ["8.8.8.8", "203.0.113.9", "2001:db8::1"] {
        assert!(
            !trusted.contains(public.parse().unwrap()),
            "EDGE_TRUSTED_PROXIES trusts {public}"
        );
    }
    let mount = seq(&container["volumeMounts"])[0]["mountPath"]
        .as_str()
        .unwrap();
    assert_eq!(env["EDGE_ROUTES"], format!("{mount}/routes.toml"));
    let listen: std::net::SocketAddr = env["EDGE_LISTEN"].parse().unwrap();
    assert_eq!(
        seq(&container["ports"])[0]["containerPort"].as_u64(),
        Some(u64::from(listen.port()))
    );
}

#[test]
fn the_ingress_alternative_has_the_edge_route_table() {
    let edge_docs = load("deploy/k8s");
    let routes = find(&edge_docs, "ConfigMap", "edge-routes");
    let manifest = Manifest::parse(routes.value["data"]["routes.toml"].as_str().unwrap()).unwrap();
    let table: BTreeSet<(String, String)> = manifest
        .routes
        .iter()
        .map(|r| (r.prefix.clone(), r.zone.clone()))
        .collect();
    let docs = load("deploy/k8s-ingress-only");
    let ingress = find(&docs, "Ingress", "meridian");
    let mut paths = BTreeSet::new();
    for rule in seq(&ingress.value["spec"]["rules"]) {
        for path in seq(&rule["http"]["paths"]) {
            assert_eq!(path["pathType"].as_str(), Some("Prefix"));
            let service = path["backend"]["service"]["name"].as_str().unwrap();
            find(&edge_docs, "Service", service);
            paths.insert((
                path["path"].as_str().unwrap().to_owned(),
                service.to_owned(),
            ));
        }
    }
    assert_eq!(paths, table);
}
