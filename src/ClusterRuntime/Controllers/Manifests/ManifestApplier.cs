// Applies one manifest file's objects (create, else a three-way merge over the live object) and prunes what it dropped.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api;
using Appliance.ClusterRuntime.Api.Patch;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Controllers.Machinery;

namespace Appliance.ClusterRuntime.Controllers.Manifests;

/// <summary>One object a manifest asks for, resolved to its resource.</summary>
/// <param name="Resource">The served resource of its apiVersion and kind.</param>
/// <param name="Namespace">Its namespace (<c>default</c> when a namespaced object names none); null when cluster-scoped.</param>
/// <param name="Name">Its name.</param>
/// <param name="Manifest">The object as the file has it (namespace filled in).</param>
public sealed record DesiredObject(ApiResource Resource, string? Namespace, string Name, JsonObject Manifest)
{
    /// <summary><c>kind ns/name</c> for messages.</summary>
    public override string ToString() => $"{Resource.Kind} {(Namespace is null ? "" : Namespace + "/")}{Name}";
}

/// <summary>
/// Every applied object carries the label <see cref="SourceLabel"/> (a hash of the file's path), the annotation
/// <see cref="FileAnnotation"/> (the path) and <see cref="AppliedAnnotation"/> (the object as last applied, as
/// kubectl's last-applied-configuration). An existing object is updated with a merge patch computed from the last
/// applied object to the new one: fields the file sets are set, fields the file dropped are removed, and fields the
/// file never set (status, spec.clusterIP, spec.nodeName, other writers' labels) are kept.
/// </summary>
public sealed class ManifestApplier(ObjectStore store)
{
    /// <summary>Label on every object applied from a file: the first 20 hex digits of SHA-256(relative path).</summary>
    public const string SourceLabel = "manifests.appliance.dev/source";

    /// <summary>Annotation naming the file (relative to the manifests directory).</summary>
    public const string FileAnnotation = "manifests.appliance.dev/file";

    /// <summary>Annotation holding the object as last applied (compact JSON).</summary>
    public const string AppliedAnnotation = "manifests.appliance.dev/applied";

    /// <summary>The <see cref="SourceLabel"/> value of a file.</summary>
    public static string SourceHash(string relativePath) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(relativePath)), 0, 10);

    /// <summary>Resolves objects to served resources, Namespaces first, then in file order.</summary>
    /// <exception cref="InvalidDataException">An object without apiVersion, kind or name, of a kind not served, or given twice.</exception>
    public static List<DesiredObject> Resolve(IEnumerable<JsonObject> objects)
    {
        var result = new List<DesiredObject>();
        int index = 0;
        foreach (var obj in objects)
        {
            index++;
            var apiVersion = Obj.Str(obj, "apiVersion");
            var kind = Obj.Str(obj, "kind");
            if (string.IsNullOrEmpty(apiVersion) || string.IsNullOrEmpty(kind))
                throw new InvalidDataException($"object {index} has no {(string.IsNullOrEmpty(apiVersion) ? "apiVersion" : "kind")}");
            var r = ResourceTable.Resources.FirstOrDefault(x => x.ApiVersion == apiVersion && x.Kind == kind)
                ?? throw new InvalidDataException($"object {index}: no matches for kind \"{kind}\" in version \"{apiVersion}\"");
            var name = Obj.Str(obj, "metadata", "name");
            if (string.IsNullOrEmpty(name)) throw new InvalidDataException($"object {index} ({kind}) has no metadata.name");
            var manifest = Obj.Clone(obj);
            var meta = Obj.Ensure(manifest, "metadata");
            foreach (var field in new[] { "resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink" }) meta.Remove(field);
            string? ns = null;
            if (r.Namespaced) meta["namespace"] = ns = Obj.Str(obj, "metadata", "namespace") is { Length: > 0 } given ? given : "default";
            else meta.Remove("namespace");
            var desired = new DesiredObject(r, ns, name, manifest);
            if (result.Any(d => Same(d, desired))) throw new InvalidDataException($"{desired} is given twice");
            result.Add(desired);
        }
        return [.. result.Where(d => d.Resource.Kind == "Namespace"), .. result.Where(d => d.Resource.Kind != "Namespace")];
    }

    static bool Same(DesiredObject a, DesiredObject b) =>
        (a.Resource.StoredAs ?? a.Resource) == (b.Resource.StoredAs ?? b.Resource) && a.Namespace == b.Namespace && a.Name == b.Name;

    /// <summary>Creates or updates each object; returns one message per object that failed (the others are applied).</summary>
    public async Task<List<string>> ApplyAsync(string relativePath, IReadOnlyList<DesiredObject> desired, CancellationToken ct)
    {
        var errors = new List<string>();
        var source = SourceHash(relativePath);
        foreach (var d in desired)
        {
            var applied = d.Manifest.ToJsonString();
            var wanted = Obj.Clone(d.Manifest);
            Obj.Ensure(wanted, "metadata", "labels")[SourceLabel] = source;
            var annotations = Obj.Ensure(wanted, "metadata", "annotations");
            annotations[FileAnnotation] = relativePath;
            annotations[AppliedAnnotation] = applied;
            try
            {
                try
                {
                    await store.CreateAsync(d.Resource, d.Namespace, Obj.Clone(wanted), ct);
                }
                catch (ApiException e) when (e.Code == 409)
                {
                    await store.UpdateAsync(d.Resource, d.Namespace, d.Name, live =>
                    {
                        if (Obj.IsDeleting(live)) throw new ApiException(409, "Conflict", "it is being deleted; applying again once it is gone");
                        var last = Obj.Str(live, "metadata", "annotations", AppliedAnnotation) is { } text ? JsonNode.Parse(text) as JsonObject : null;
                        return (JsonObject)JsonMergePatch.Apply(live, Diff(last, wanted))!;
                    }, false, ct);
                }
            }
            catch (ApiException e)
            {
                errors.Add($"{d}: {e.Message}");
            }
        }
        return errors;
    }

    /// <summary>
    /// Deletes the objects labelled with the file's <see cref="SourceLabel"/> that <paramref name="desired"/> no longer
    /// has, looking in <paramref name="resources"/> (what the file applied before and applies now). Returns failures.
    /// </summary>
    public async Task<List<string>> PruneAsync(string relativePath, IEnumerable<ApiResource> resources, IReadOnlyList<DesiredObject> desired, CancellationToken ct)
    {
        var errors = new List<string>();
        var selector = new ListOptions(LabelSelector.Parse($"{SourceLabel}={SourceHash(relativePath)}"), FieldSelector.Everything, 0, null, null, null);
        foreach (var r in resources.Select(x => x.StoredAs ?? x).Distinct())
        {
            var page = await store.ListAsync(r, null, selector, ct);
            foreach (var live in page.Items)
            {
                var ns = r.Namespaced ? Meta.Namespace(live) : null;
                var name = Meta.Name(live)!;
                if (desired.Any(d => (d.Resource.StoredAs ?? d.Resource) == r && d.Namespace == ns && d.Name == name)) continue;
                // Only objects this file applied: another file with a colliding hash would name another file here.
                if (Obj.Str(live, "metadata", "annotations", FileAnnotation) != relativePath) continue;
                try
                {
                    await store.DeleteAsync(r, ns, name, new DeleteOptions(Obj.Uid(live), null, "Background"), ct);
                }
                catch (ApiException e) when (e.Code is 404 or 409)
                {
                }
                catch (ApiException e)
                {
                    errors.Add($"deleting {r.Kind} {(ns is null ? "" : ns + "/")}{name}: {e.Message}");
                }
            }
        }
        return errors;
    }

    /// <summary>
    /// The JSON merge patch from <paramref name="last"/> to <paramref name="wanted"/>: all of <paramref name="wanted"/>,
    /// plus a null for each field <paramref name="last"/> had and <paramref name="wanted"/> dropped (nested objects alike).
    /// </summary>
    static JsonObject Diff(JsonObject? last, JsonObject wanted)
    {
        var patch = Obj.Clone(wanted);
        if (last is null) return patch;
        foreach (var (key, old) in last)
        {
            if (!wanted.ContainsKey(key)) patch[key] = null;
            else if (old is JsonObject oldObj && wanted[key] is JsonObject newObj) patch[key] = Diff(oldObj, newObj);
        }
        return patch;
    }
}
