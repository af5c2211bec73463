//! Disclosure generation against the number of data points. Every point gets gates of its own,
//! the worst case for grouping points into sections: generation must stay linear (it was
//! quadratic, 21 s for 28 000 points).

use candor_schema::{Catalogue, DeletionKey, Gate};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn catalogue_with(points: usize) -> Catalogue {
    let builtins = candor_schema::builtin::catalogues().expect("built-ins load");
    let mut spec = builtins
        .get("contrast-dotnet-agent")
        .expect("built in")
        .spec()
        .clone();
    let template = spec.data_points[0].clone();
    spec.data_points = (0..points)
        .map(|i| {
            let mut point = template.clone();
            point.id = format!("point_{i}");
            point.source = None;
            point.gates = [
                ("framework".to_owned(), Gate::After(format!("2020.8.{i}"))),
                ("core".to_owned(), Gate::Since(format!("1.{i}.0"))),
            ]
            .into_iter()
            .collect();
            point
        })
        .collect();
    // The synthetic points replace the ones the deletion key and the revision notes name.
    spec.collection.deletion_key = DeletionKey::None;
    spec.revisions.clear();
    Catalogue::from_spec(spec, "bench").expect("valid")
}

fn generate(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    for points in [1_000, 7_000, 28_000] {
        let catalogue = catalogue_with(points);
        group.bench_with_input(BenchmarkId::from_parameter(points), &catalogue, |b, cat| {
            b.iter(|| candor_docs::generate([cat]));
        });
    }
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
