// Generic REST storage over IBackend: one implementation of get/list/create/update/delete for every table resource.
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Datastore;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>Options of a list call.</summary>
public sealed record ListOptions(LabelSelector Labels, FieldSelector Fields, long Limit, string? Continue, string? ResourceVersion, string? ResourceVersionMatch)
{
    /// <summary>Every object, unpaged, at the newest revision.</summary>
    public static readonly ListOptions Everything = new(LabelSelector.Everything, FieldSelector.Everything, 0, null, null, null);
}

/// <summary>One page of a list.</summary>
/// <param name="Revision">The revision the list was read at.</param>
/// <param name="Items">The objects (empty when <paramref name="Raw"/> is used).</param>
/// <param name="Continue">The continue token, when more items remain.</param>
/// <param name="Raw">The objects as stored JSON with their resourceVersion spliced in (unfiltered raw lists only).</param>
/// <param name="Largest">The stored size in bytes of its largest item (to size the next chunk of a streamed list).</param>
public sealed record ListPage(long Revision, List<JsonObject> Items, string? Continue, List<byte[]>? Raw = null, long Largest = 0)
{
    /// <summary>How many items the page holds.</summary>
    public int Count => Raw?.Count ?? Items.Count;
}

/// <summary>Preconditions and policy of a delete call (see <see cref="DeletePropagation"/>).</summary>
public sealed record DeleteOptions(string? Uid, string? ResourceVersion, string? PropagationPolicy)
{
    /// <summary>No preconditions.</summary>
    public static readonly DeleteOptions None = new(null, null, null);

    /// <summary>The legacy <c>orphanDependents</c> (true is Orphan, false Background); never set with a policy.</summary>
    public bool? OrphanDependents { get; init; }

    /// <summary>The grace period asked for (pods only, see <see cref="GracefulDeletion"/>); null: the object's default.</summary>
    public long? GracePeriodSeconds { get; init; }

    /// <summary>dryRun=All: the delete is decided and answered, nothing is stored.</summary>
    public bool DryRun { get; init; }
}

/// <summary>What a write through the API asks of the store beyond the object.</summary>
/// <param name="DryRun">dryRun=All: every check and default runs and the result is returned, nothing is stored.</param>
/// <param name="BeforeStore">
/// Called with the stored object (null on create) and the object about to be stored, after defaults and validation,
/// to finish it (its managedFields); a write that then changes nothing is not stored.
/// </param>
public sealed record WriteHooks(bool DryRun, Action<JsonObject?, JsonObject>? BeforeStore);

/// <summary>Stores API objects as JSON under <c>/registry/...</c> keys; the key's ModRevision is the resourceVersion.</summary>
public sealed partial class ObjectStore(IBackend backend, TimeProvider clock)
{
    const int MaxRetries = 64;

    /// <summary>The datastore.</summary>
    public IBackend Backend => backend;

    /// <summary>The clock used for timestamps.</summary>
    public TimeProvider Clock => clock;

    /// <summary>tolerationSeconds of the not-ready and unreachable tolerations every new pod gets (<c>--default-toleration-seconds</c>).</summary>
    public int DefaultTolerationSeconds { get; init; } = 300;

    /// <summary>
    /// Allocates Services' ClusterIPs and NodePorts as they are written and frees them on delete; null (in-process
    /// stores of tests) leaves Service addresses as given.
    /// </summary>
    public Services.ServiceAllocator? Services { get; init; }

    /// <summary>Admission of new pods after defaulting (the ServiceAccount plugin); null (in-process stores of tests): none.</summary>
    public Func<ObjectStore, JsonObject, CancellationToken, Task>? PodAdmission { get; init; }

    /// <summary>
    /// Validating admission of every new object, last before it is stored (ResourceQuota; the bool: dry run); what it
    /// returns is disposed once the object is stored or refused; null: none.
    /// </summary>
    public Func<ObjectStore, ApiResource, JsonObject, bool, CancellationToken, Task<IDisposable?>>? CreateAdmission { get; init; }

    /// <summary>Raised after a namespace got its deletionTimestamp (the lifecycle then empties it).</summary>
    public event Action<string>? NamespaceTerminating;

    /// <summary>Parses a stored value and stamps its resourceVersion.</summary>
    public static JsonObject Decode(KeyValue kv, long? resourceVersion = null)
    {
        var obj = (JsonObject)JsonNode.Parse(kv.Value)!;
        Meta.Of(obj)["resourceVersion"] = (resourceVersion ?? kv.ModRevision).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return obj;
    }

    /// <summary>Reads one object; 404 when absent.</summary>
    public async Task<JsonObject> GetAsync(ApiResource r, string? ns, string name, string? resourceVersion, CancellationToken ct)
    {
        if (r.StoredAs is { } storage) return View(r, await GetAsync(storage, ns, name, resourceVersion, ct));
        long rev = 0;
        if (!string.IsNullOrEmpty(resourceVersion) && resourceVersion != "0") rev = ParseRv(resourceVersion);
        var (_, kv) = await Guard(() => backend.GetAsync(r.Key(ns, name), rev, ct), rev);
        return kv is null ? throw ApiException.NotFound(r, name) : View(r, Decode(kv));
    }

    /// <summary>Reads one object or null.</summary>
    public async Task<(KeyValue? Kv, JsonObject? Obj)> TryGetAsync(ApiResource r, string? ns, string name, CancellationToken ct)
    {
        var (_, kv) = await backend.GetAsync(r.Key(ns, name), 0, ct);
        return kv is null ? (null, null) : (kv, View(r, Decode(kv)));
    }

    /// <summary>Creates an object: fills name (generateName), uid, creationTimestamp, generation and defaults.</summary>
    public async Task<JsonObject> CreateAsync(ApiResource r, string? ns, JsonObject obj, CancellationToken ct, WriteHooks? hooks = null)
    {
        Validation.CheckTypes(r, obj);
        CheckTypeMeta(r, obj);
        if (r.StoredAs is { } storage) return View(r, await CreateAsync(storage, ns, ToStorage(r, obj), ct, hooks));
        var meta = Meta.Of(obj);
        if (r.Namespaced)
        {
            var bodyNs = Meta.Namespace(obj);
            if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            meta["namespace"] = ns;
            await CheckNamespaceOpenAsync(r, ns!, ct);
        }
        else meta.Remove("namespace");

        var generateName = meta["generateName"]?.GetValue<string>();
        bool generated = string.IsNullOrEmpty(Meta.Name(obj)) && !string.IsNullOrEmpty(generateName);
        foreach (var field in new[] { "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields" })
            meta.Remove(field);
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Meta.Time(clock.GetUtcNow());
        meta["generation"] = 1;
        Defaults.Apply(r, obj, creating: true);
        if (r.Kind == "Pod") Defaults.AddDefaultTolerations(obj, DefaultTolerationSeconds);
        if (r.Kind == "Pod" && r.Group.Length == 0 && PodAdmission is not null) await PodAdmission(this, obj, ct);

        for (int attempt = 0; ; attempt++)
        {
            if (generated) meta["name"] = generateName + RandomSuffix();
            Validation.Check(r, obj);
            hooks?.BeforeStore?.Invoke(null, obj);
            using var admitted = attempt == 0 && CreateAdmission is not null ? await CreateAdmission(this, r, obj, hooks?.DryRun == true, ct) : null;
            if (hooks?.DryRun == true) return obj;
            var name = Meta.Name(obj)!;
            var claim = IsService(r) ? await Services!.CreateAsync(obj, ct) : null;
            try
            {
                var rev = await backend.CreateAsync(r.Key(ns, name), Meta.ToBytes(obj), LeaseOf(r), ct);
                meta["resourceVersion"] = rev.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return obj;
            }
            catch (KeyExistsException)
            {
                if (claim is not null) await claim.RollbackAsync(CancellationToken.None);
                if (!generated || attempt >= 8) throw ApiException.AlreadyExists(r, name);
            }
            catch when (claim is not null)
            {
                await claim.RollbackAsync(CancellationToken.None);
                throw;
            }
        }
    }

    /// <summary>
    /// Replaces an object with what <paramref name="transform"/> makes of the current one. Retries when another write
    /// slipped in; a resourceVersion in the result that is not the current one is a 409 Conflict.
    /// </summary>
    public Task<JsonObject> UpdateAsync(ApiResource r, string? ns, string name, Func<JsonObject, JsonObject> transform, bool statusOnly, CancellationToken ct, WriteHooks? hooks = null) =>
        UpdateAsync(r, ns, name, transform, statusOnly ? WriteScope.Status : WriteScope.Spec, ct, hooks);

    /// <summary>What an update may change: the object without its status, only the status, or both (pods/binding).</summary>
    enum WriteScope { Spec, Status, Both }

    /// <summary>
    /// Writes spec and status of <paramref name="r"/> in one update, as the binding subresource of a pod sets
    /// <c>spec.nodeName</c> and the PodScheduled condition together; checks of plain updates (the pod's immutable
    /// node name) do not apply.
    /// </summary>
    public Task<JsonObject> UpdateWithStatusAsync(ApiResource r, string? ns, string name, Func<JsonObject, JsonObject> transform, CancellationToken ct, WriteHooks? hooks = null) =>
        UpdateAsync(r, ns, name, transform, WriteScope.Both, ct, hooks);

    async Task<JsonObject> UpdateAsync(ApiResource r, string? ns, string name, Func<JsonObject, JsonObject> transform, WriteScope scope, CancellationToken ct, WriteHooks? hooks)
    {
        var statusOnly = scope == WriteScope.Status;
        if (r.StoredAs is { } storage)
            return View(r, await UpdateAsync(storage, ns, name, cur =>
            {
                var updated = transform(View(r, cur));
                Validation.CheckTypes(r, updated, statusOnly);
                CheckTypeMeta(r, updated);
                return ToStorage(r, updated);
            }, scope, ct, hooks));
        var key = r.Key(ns, name);
        for (int attempt = 0; attempt < MaxRetries; attempt++)
        {
            var (_, kv) = await backend.GetAsync(key, 0, ct);
            if (kv is null) throw ApiException.NotFound(r, name);
            var current = Decode(kv);
            var updated = transform(current.DeepClone().AsObject());
            Validation.CheckTypes(r, updated, statusOnly);
            CheckTypeMeta(r, updated);
            var meta = Meta.Of(updated);
            var bodyName = Meta.Name(updated);
            if (!string.IsNullOrEmpty(bodyName) && bodyName != name)
                throw ApiException.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
            var bodyNs = Meta.Namespace(updated);
            if (r.Namespaced && !string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
                throw ApiException.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
            var bodyRv = meta["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(bodyRv) && bodyRv != kv.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw ApiException.Conflict(r, name, "the object has been modified; please apply your changes to the latest version and try again");

            var prepared = statusOnly ? MergeStatusOnly(current, updated) : PrepareUpdate(r, current, updated, scope == WriteScope.Both);
            if (statusOnly) NamespaceStatus.Check(r, prepared);
            hooks?.BeforeStore?.Invoke(current, prepared);
            var stored = Stored(prepared);
            var currentStored = Stored(current.DeepClone().AsObject());
            if (stored.AsSpan().SequenceEqual(currentStored)) return current;
            if (hooks?.DryRun == true)
            {
                Meta.Of(prepared)["resourceVersion"] = kv.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return prepared;
            }

            // An object being deleted goes once its finalizers are done, unless a grace period still runs (a pod whose
            // kubelet is stopping it: the kubelet's delete with grace 0 removes it).
            if (Meta.Str(prepared, "deletionTimestamp") is not null && PendingFinalizers(r, prepared) == 0 && !GracefulDeletion.InGracePeriod(prepared))
            {
                var (delRev, _, deleted) = await backend.DeleteAsync(key, kv.ModRevision, ct);
                if (!deleted) continue;
                await ReleaseAsync(r, current);
                Meta.Of(prepared)["resourceVersion"] = delRev.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return prepared;
            }
            var claim = IsService(r) && !statusOnly ? await Services!.UpdateAsync(current, prepared, ct) : null;
            bool ok;
            long rev;
            try
            {
                (rev, _, ok) = await backend.UpdateAsync(key, stored, kv.ModRevision, LeaseOf(r), ct);
            }
            catch when (claim is not null)
            {
                await claim.RollbackAsync(CancellationToken.None);
                throw;
            }
            if (claim is not null)
            {
                if (ok) await claim.CommitAsync(ct);
                else await claim.RollbackAsync(ct);
            }
            if (!ok) continue;
            Meta.Of(prepared)["resourceVersion"] = rev.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return prepared;
        }
        throw ApiException.Conflict(r, name, "too many concurrent writers; try again");
    }

    /// <summary>
    /// Deletes an object; with finalizers (its own, or those <see cref="DeletePropagation"/> adds) or a grace period
    /// (a running pod, <see cref="GracefulDeletion"/>) it only gets a deletionTimestamp. Returns the object and whether it is gone.
    /// </summary>
    public async Task<(JsonObject Obj, bool Deleted)> DeleteAsync(ApiResource r, string? ns, string name, DeleteOptions options, CancellationToken ct)
    {
        if (r.StoredAs is { } storage)
        {
            var (obj, deleted) = await DeleteAsync(storage, ns, name, options, ct);
            return (View(r, obj), deleted);
        }
        var key = r.Key(ns, name);
        for (int attempt = 0; attempt < MaxRetries; attempt++)
        {
            var (_, kv) = await backend.GetAsync(key, 0, ct);
            if (kv is null) throw ApiException.NotFound(r, name);
            var current = Decode(kv);
            var uid = Meta.Str(current, "uid");
            if (options.Uid is not null && options.Uid != uid)
                throw ApiException.Conflict(r, name, $"Precondition failed: UID in precondition: {options.Uid}, UID in object meta: {uid}");
            if (options.ResourceVersion is not null && options.ResourceVersion != Meta.Str(current, "resourceVersion"))
                throw ApiException.Conflict(r, name, $"Precondition failed: ResourceVersion in precondition: {options.ResourceVersion}, ResourceVersion in object meta: {Meta.Str(current, "resourceVersion")}");

            // A graceful deletion under way is not changed by a delete that does not shorten it (not even its finalizers).
            var grace = GracefulDeletion.Decide(r, current, options, clock.GetUtcNow());
            if (grace.Pending) return (current, false);
            bool isNamespace = r.Kind == "Namespace";
            var finalizers = DeletePropagation.FinalizersAfterDelete(r, current, options);
            if (isNamespace || finalizers.Count > 0 || grace.Keeps)
            {
                bool deleting = Meta.Str(current, "deletionTimestamp") is not null;
                if (deleting && grace.At is null && finalizers.SequenceEqual(Meta.Finalizers(current)))
                {
                    if (isNamespace) NamespaceTerminating?.Invoke(name);
                    return (current, false);
                }
                var marked = current.DeepClone().AsObject();
                DeletePropagation.SetFinalizers(marked, finalizers);
                if (grace.At is { } at)
                {
                    Meta.Of(marked)["deletionTimestamp"] = Meta.Time(at);
                    Meta.Of(marked)["deletionGracePeriodSeconds"] = grace.Grace;
                }
                else if (!deleting)
                {
                    Meta.Of(marked)["deletionTimestamp"] = Meta.Time(clock.GetUtcNow());
                    Meta.Of(marked)["deletionGracePeriodSeconds"] = 0;
                }
                if (isNamespace) marked["status"] = new JsonObject { ["phase"] = "Terminating" };
                if (options.DryRun) return (marked, false);
                var (rev, _, ok) = await backend.UpdateAsync(key, Stored(marked.DeepClone().AsObject()), kv.ModRevision, 0, ct);
                if (!ok) continue;
                Meta.Of(marked)["resourceVersion"] = rev.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (isNamespace) NamespaceTerminating?.Invoke(name);
                return (marked, false);
            }
            if (options.DryRun) return (current, true);
            var (_, _, deleted) = await backend.DeleteAsync(key, kv.ModRevision, ct);
            if (!deleted) continue;
            await ReleaseAsync(r, current);
            return (current, true);
        }
        throw ApiException.Conflict(r, name, "too many concurrent writers; try again");
    }

    /// <summary>Lists objects, filtered by selectors, with limit/continue paging at one consistent revision.</summary>
    /// <remarks>With <paramref name="raw"/> and no selectors the stored bytes are returned without parsing them.</remarks>
    public async Task<ListPage> ListAsync(ApiResource r, string? ns, ListOptions options, CancellationToken ct, bool raw = false)
    {
        if (r.StoredAs is { } storage)
        {
            var page = await ListAsync(storage, ns, options, ct);
            return page with { Items = page.Items.ConvertAll(o => View(r, o)) };
        }
        var prefix = r.ListPrefix(ns);
        long revision = 0, pinned = 0;
        string start = "";
        if (!string.IsNullOrEmpty(options.Continue))
        {
            (revision, start) = ContinueToken.Decode(options.Continue);
            if (!start.StartsWith(prefix, StringComparison.Ordinal)) throw ApiException.BadRequest("continue key is not valid for this list");
            if (revision <= backend.CompactRevision)
            {
                // Compaction to the newest revision leaves that state readable as "newest": a list at it may go on
                // while nothing has been written since (each page is checked below).
                if (revision != await backend.CurrentRevisionAsync(ct))
                    throw ApiException.Gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
                pinned = revision;
                revision = 0;
            }
        }
        else if (!string.IsNullOrEmpty(options.ResourceVersion) && options.ResourceVersion != "0")
        {
            var rv = ParseRv(options.ResourceVersion);
            if (options.ResourceVersionMatch == "Exact") revision = rv;
            else
            {
                var current = await backend.CurrentRevisionAsync(ct);
                if (rv > current) throw ApiException.TooLargeResourceVersion(rv, current);
            }
        }
        else if (!string.IsNullOrEmpty(options.ResourceVersionMatch) && options.ResourceVersionMatch != "NotOlderThan")
            throw ApiException.BadRequest($"resourceVersionMatch \"{options.ResourceVersionMatch}\" is forbidden unless resourceVersion is provided");

        var items = new List<JsonObject>();
        long limit = options.Limit > 0 ? options.Limit : 0;
        string? next = null;
        bool filtering = !options.Labels.IsEmpty || !options.Fields.IsEmpty;
        // Custom resources are parsed: their schema's defaults apply on read.
        List<byte[]>? rawItems = raw && !filtering && r.Custom is null ? [] : null;
        int count = 0;
        long largest = 0;
        while (true)
        {
            long want = limit == 0 ? 0 : Math.Max(limit - count, filtering ? 64 : 1);
            var page = await Guard(() => backend.ListAsync(prefix, start, want, revision, ct), revision);
            if (pinned == 0) revision = page.Revision;
            else if (page.Revision != pinned)
                throw ApiException.Gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
            int consumed = 0;
            foreach (var kv in page.Items)
            {
                consumed++;
                largest = Math.Max(largest, kv.Value.Length);
                if (rawItems is not null)
                {
                    rawItems.Add(WithResourceVersion(kv));
                    count++;
                }
                else
                {
                    var obj = View(r, Decode(kv));
                    if (Matches(obj, options)) { items.Add(obj); count++; }
                }
                if (limit > 0 && count == limit)
                {
                    bool remaining = consumed < page.Items.Count || page.More;
                    if (remaining) next = ContinueToken.Encode(pinned != 0 ? pinned : revision, kv.Key + "\0");
                    break;
                }
            }
            if ((limit > 0 && count == limit) || !page.More || page.Items.Count == 0) break;
            start = page.Items[^1].Key + "\0";
        }
        return new ListPage(pinned != 0 ? pinned : revision, items, next, rawItems, largest);
    }

    /// <summary>A streamed list is read in chunks of about this many stored bytes, so a request holds one chunk, not the list.</summary>
    public const long ListChunkBytes = 4L * 1024 * 1024;

    /// <summary>Most items in one chunk.</summary>
    public const int MaxChunkItems = 500;

    /// <summary>
    /// The list <paramref name="options"/> ask for (its <c>limit</c> and <c>continue</c> included), read in chunks:
    /// the first holds one item (to learn the size of the items), later ones about <see cref="ListChunkBytes"/>,
    /// each read at the first chunk's revision through a continue token. Every chunk has that revision; the one
    /// marked last has the token for the client's next page in <see cref="ListPage.Continue"/> (null when the list is done).
    /// </summary>
    public async IAsyncEnumerable<(ListPage Page, bool Last)> ListChunksAsync(ApiResource r, string? ns, ListOptions options, bool raw,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        long wanted = options.Limit, sent = 0, chunk = 1, largest = 1;
        string? cont = options.Continue;
        while (true)
        {
            var take = wanted > 0 ? Math.Min(chunk, wanted - sent) : chunk;
            var page = await ListAsync(r, ns, options with { Limit = take, Continue = cont }, ct, raw);
            sent += page.Count;
            cont = page.Continue;
            largest = Math.Max(largest, page.Largest);
            bool last = cont is null || (wanted > 0 && sent >= wanted);
            yield return (page, last);
            if (last) yield break;
            chunk = Math.Clamp(ListChunkBytes / largest, 1, MaxChunkItems);
        }
    }

    /// <summary>
    /// The stored JSON with <c>"resourceVersion":"N"</c> spliced in as the first field of the top-level metadata.
    /// Stored objects are written by this class, so the first <c>"metadata":{</c> is the top-level one (kind and
    /// apiVersion, fixed strings, come before it).
    /// </summary>
    static byte[] WithResourceVersion(KeyValue kv)
    {
        var value = kv.Value.AsSpan();
        var at = value.IndexOf("\"metadata\":{"u8);
        if (at < 0) return Meta.ToBytes(Decode(kv));
        at += "\"metadata\":{".Length;
        var rv = System.Text.Encoding.UTF8.GetBytes($"\"resourceVersion\":\"{kv.ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture)}\"");
        bool empty = at < value.Length && value[at] == (byte)'}';
        var result = new byte[value.Length + rv.Length + (empty ? 0 : 1)];
        value[..at].CopyTo(result);
        rv.CopyTo(result.AsSpan(at));
        int pos = at + rv.Length;
        if (!empty) result[pos++] = (byte)',';
        value[at..].CopyTo(result.AsSpan(pos));
        return result;
    }

    bool IsService(ApiResource r) => Services is not null && r.Kind == "Service" && r.Group.Length == 0;

    /// <summary>
    /// Frees a deleted Service's addresses. The Service is gone whatever happens here: a failure leaves keys that the
    /// allocation repair frees, so it is not the client's error.
    /// </summary>
    async Task ReleaseAsync(ApiResource r, JsonObject deleted)
    {
        if (!IsService(r)) return;
        try { await Services!.ReleaseAsync(deleted, CancellationToken.None); }
        catch (Exception e) when (e is not OutOfMemoryException) { }
    }

    /// <summary>Finalizers that hold a deleted object: metadata.finalizers, and for namespaces also spec.finalizers.</summary>
    static int PendingFinalizers(ApiResource r, JsonObject obj) =>
        Meta.Finalizers(obj).Count + (r.Kind == "Namespace" && obj["spec"]?["finalizers"] is JsonArray a ? a.Count : 0);

    /// <summary>True when <paramref name="obj"/> passes the label and field selectors.</summary>
    public static bool Matches(JsonObject obj, ListOptions options) =>
        options.Labels.Matches(k => Meta.Label(obj, k)) && options.Fields.Matches(obj);

    static void CheckTypeMeta(ApiResource r, JsonObject obj)
    {
        var kind = obj["kind"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(kind) && kind != r.Kind)
            throw ApiException.BadRequest($"the kind \"{kind}\" of the object does not match the resource {r.GroupResource} (kind \"{r.Kind}\")");
        var apiVersion = obj["apiVersion"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(apiVersion) && apiVersion != r.ApiVersion)
            throw ApiException.BadRequest($"the API version \"{apiVersion}\" of the object does not match {r.ApiVersion}");
        // Put kind and apiVersion first, as Kubernetes serializes them.
        var rest = obj.ToList();
        obj.Clear();
        obj["kind"] = r.Kind;
        obj["apiVersion"] = r.ApiVersion;
        foreach (var (k, v) in rest)
            if (k is not ("kind" or "apiVersion")) obj[k] = v;
    }

    JsonObject PrepareUpdate(ApiResource r, JsonObject current, JsonObject updated, bool withStatus)
    {
        var meta = Meta.Of(updated);
        var cur = Meta.Of(current);
        foreach (var field in new[] { "uid", "creationTimestamp", "name", "namespace", "deletionTimestamp", "deletionGracePeriodSeconds", "generation" })
        {
            if (cur[field] is { } v) meta[field] = v.DeepClone();
            else meta.Remove(field);
        }
        if (r.HasStatus && !withStatus)
        {
            if (current["status"] is { } s) updated["status"] = s.DeepClone();
            else updated.Remove("status");
        }
        if (IsService(r)) Storage.Services.ServiceSpec.KeepAllocated(current, updated);
        Defaults.Apply(r, updated, creating: false);
        Validation.Check(r, updated);
        if (r.Kind == "Pod" && !withStatus) PodBinding.CheckUpdate(current, updated);
        if (!JsonNode.DeepEquals(SpecPart(current), SpecPart(updated)))
            meta["generation"] = (cur["generation"] is JsonValue g && g.TryGetValue<long>(out var generation) ? generation : 0) + 1;
        return updated;
    }

    static JsonObject MergeStatusOnly(JsonObject current, JsonObject updated)
    {
        var result = current.DeepClone().AsObject();
        if (updated["status"] is { } s) result["status"] = s.DeepClone();
        else result.Remove("status");
        return result;
    }

    static JsonObject SpecPart(JsonObject obj)
    {
        var part = new JsonObject();
        foreach (var (k, v) in obj)
            if (k is not ("metadata" or "status" or "kind" or "apiVersion")) part[k] = v?.DeepClone();
        return part;
    }

    /// <summary>The bytes stored for an object: everything but its resourceVersion.</summary>
    static byte[] Stored(JsonObject obj)
    {
        var meta = Meta.Of(obj);
        var rv = meta["resourceVersion"];
        meta.Remove("resourceVersion");
        var bytes = Meta.ToBytes(obj);
        if (rv is not null) meta["resourceVersion"] = rv;
        return bytes;
    }

    async Task CheckNamespaceOpenAsync(ApiResource r, string ns, CancellationToken ct)
    {
        var (_, kv) = await backend.GetAsync(ResourceTable.Namespaces.Key(null, ns), 0, ct);
        if (kv is null) throw ApiException.NotFound(ResourceTable.Namespaces, ns);
        var obj = Decode(kv);
        if (Meta.Str(obj, "deletionTimestamp") is not null)
            throw new ApiException(403, "Forbidden", $"{r.GroupResource} is forbidden: unable to create new content in namespace {ns} because it is being terminated");
    }

    /// <summary>Five characters as upstream appends to a generateName (no vowels, no look-alikes).</summary>
    public static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        Span<char> s = stackalloc char[5];
        for (int i = 0; i < s.Length; i++) s[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        return new string(s);
    }

    /// <summary>Parses a resourceVersion; 400 when it is not a number.</summary>
    public static long ParseRv(string rv) =>
        long.TryParse(rv, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v : throw ApiException.BadRequest($"invalid resource version \"{rv}\"");

    static async Task<T> Guard<T>(Func<Task<T>> call, long revision)
    {
        try { return await call(); }
        catch (CompactedException e)
        {
            throw ApiException.Gone($"too old resource version: {revision} ({e.Compacted + 1})");
        }
        catch (FutureRevisionException e)
        {
            throw ApiException.TooLargeResourceVersion(e.Requested, e.Current);
        }
    }
}
