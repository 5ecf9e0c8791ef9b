// POST (create, pods/binding), PUT (update, status, scale), PATCH (merge, strategic merge, JSON patch, apply), DELETE and deletecollection.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Apply;
using Appliance.ClusterRuntime.Api.Patch;
using Appliance.ClusterRuntime.Api.Storage;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api;

public sealed partial class ApiHandler
{
    async Task CreateAsync(HttpContext ctx, RequestInfo ri)
    {
        if (ri.Resource.Namespaced && ri.Namespace is null)
            throw ApiException.MethodNotAllowed("create of a namespaced resource needs a namespace in the path");
        var o = WriteOptions.From(ctx, "CreateOptions");
        var duplicates = new List<string>();
        var body = await HttpIo.ReadObjectAsync(ctx, duplicates);
        FieldChecks.Enforce(ctx, o.Validation, ri.Resource, Schema.TypeCatalog.For(ri.Resource), body, duplicates);
        await AdmitCreateAsync(ctx, ri, body);
        // The store drops managedFields from a new object; those the request gives are the start, as upstream allows.
        var requested = Meta.Of(body)["managedFields"]?.DeepClone();
        var manager = FieldManagerOf(ri, o);
        var created = await store.CreateAsync(ri.Resource, ri.Namespace, body, ctx.RequestAborted, new WriteHooks(o.DryRun, (_, obj) =>
        {
            if (requested is not null) Meta.Of(obj)["managedFields"] = requested.DeepClone();
            manager.RecordUpdate(null, obj);
        }));
        await HttpIo.WriteAsync(ctx, 201, created);
    }

    FieldManager FieldManagerOf(RequestInfo ri, WriteOptions o) => new(ri.Resource, o.Manager, ri.Subresource, Now);

    /// <summary>The store hooks of a create, update or patch: dry run, and the manager's Update entry.</summary>
    WriteHooks UpdateHooks(RequestInfo ri, WriteOptions o) => new(o.DryRun, FieldManagerOf(ri, o).RecordUpdate);

    /// <summary>POST pods/NAME/binding: 201 with a Success Status, as kube-apiserver answers.</summary>
    async Task BindAsync(HttpContext ctx, RequestInfo ri)
    {
        var o = WriteOptions.From(ctx, "CreateOptions");
        var body = await HttpIo.ReadObjectAsync(ctx);
        await PodBinding.BindAsync(store, ri.Namespace!, ri.Name!, body, ctx.RequestAborted, UpdateHooks(ri, o));
        var status = Status.Success();
        status["code"] = 201;
        await HttpIo.WriteAsync(ctx, 201, status);
    }

    async Task ReplaceAsync(HttpContext ctx, RequestInfo ri)
    {
        var o = WriteOptions.From(ctx, "UpdateOptions");
        var duplicates = new List<string>();
        var body = await HttpIo.ReadObjectAsync(ctx, duplicates);
        FieldChecks.Enforce(ctx, o.Validation, ri.Resource, ri.Subresource == "scale" ? ScaleType : Schema.TypeCatalog.For(ri.Resource), body, duplicates);
        var hooks = UpdateHooks(ri, o);
        JsonObject result;
        switch (ri.Subresource)
        {
            case "scale":
                Validation.CheckTypes(ScaleType, body, "autoscaling");
                result = Scale.From(await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!, cur => Scale.Apply(cur, body), false, ctx.RequestAborted, hooks));
                break;
            case "status":
                result = await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!, _ => body.DeepClone().AsObject(), statusOnly: true, ctx.RequestAborted, hooks);
                break;
            case "finalize":
                result = await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!, cur =>
                {
                    cur["spec"] = body["spec"]?.DeepClone() ?? new JsonObject();
                    return cur;
                }, false, ctx.RequestAborted, hooks);
                break;
            default:
                result = await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!, Admitted(ctx, ri, _ => body.DeepClone().AsObject()), false, ctx.RequestAborted, hooks);
                break;
        }
        await HttpIo.WriteAsync(ctx, 200, result);
    }

    async Task PatchAsync(HttpContext ctx, RequestInfo ri)
    {
        var type = ctx.Request.ContentType?.Split(';')[0].Trim();
        bool apply = type == ServerSideApply.ContentType;
        var o = WriteOptions.From(ctx, "PatchOptions", apply);
        var raw = await HttpIo.ReadBodyAsync(ctx);
        if (apply)
        {
            await ServerSideApply.ServeAsync(ctx, store, ri, raw, o, FieldManagerOf(ri, o),
                transform => Admitted(ctx, ri, transform), created => AdmitCreateAsync(ctx, ri, created));
            return;
        }
        var schema = ri.Subresource == "scale" ? ScaleType : Schema.TypeCatalog.For(ri.Resource);
        if (type == "application/strategic-merge-patch+json" && ri.Resource.Custom is not null && ri.Subresource != "scale") type = "strategic merge patch, which custom resources do not support";
        Func<JsonObject, JsonObject> patch = type switch
        {
            "application/merge-patch+json" => AsObject(p => cur => (JsonObject)JsonMergePatch.Apply(cur, p)!),
            "application/strategic-merge-patch+json" => AsObject(p => cur => StrategicMergePatch.Apply(cur, p, schema) as JsonObject
                ?? throw new ApiException(422, "Invalid", "the strategic merge patch deletes the whole object ($patch: delete at the top level); use DELETE to delete it")),
            "application/json-patch+json" => JsonPatchOps(),
            _ => throw new ApiException(415, "UnsupportedMediaType",
                $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, {ServerSideApply.ContentType} (got {type})"),
        };

        Func<JsonObject, JsonObject> AsObject(Func<JsonObject, Func<JsonObject, JsonObject>> make)
        {
            var duplicates = new List<string>();
            var p = Meta.ParseObject(raw, "patch", duplicates);
            FieldChecks.Enforce(ctx, o.Validation, ri.Resource, schema, p, duplicates, patch: true);
            return make(p);
        }

        // A JSON patch names no fields up front: the fields it adds that the type does not declare are found in its result.
        Func<JsonObject, JsonObject> JsonPatchOps()
        {
            var ops = Meta.ParseNode(raw, "patch") as JsonArray ?? throw ApiException.BadRequest("a JSON patch must be an array of operations");
            return cur =>
            {
                var result = JsonPatch.Apply(cur, ops) as JsonObject ?? throw new ApiException(422, "Invalid", "the patch result is not an object");
                var before = Schema.SchemaValidator.PruneUnknown(schema, cur.DeepClone().AsObject());
                FieldChecks.Enforce(ctx, o.Validation, ri.Resource, schema, result, [], known: before);
                return result;
            };
        }

        patch = Admitted(ctx, ri, patch);
        var hooks = UpdateHooks(ri, o);
        JsonObject result = ri.Subresource switch
        {
            "scale" => Scale.From(await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!,
                cur => Scale.Apply(cur, CheckedScale(patch(Scale.From(cur)))), false, ctx.RequestAborted, hooks)),
            "status" => await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!, patch, statusOnly: true, ctx.RequestAborted, hooks),
            _ => await store.UpdateAsync(ri.Resource, ri.Namespace, ri.Name!, patch, false, ctx.RequestAborted, hooks),
        };
        await HttpIo.WriteAsync(ctx, 200, result);
    }

    static readonly Schema.TypeDef ScaleType = Schema.TypeCatalog.Get("io.k8s.api.autoscaling.v1.Scale");
    static readonly Schema.TypeDef DeleteOptionsType = Schema.TypeCatalog.Get(Schema.TypeCatalog.MetaPackage + ".DeleteOptions");

    static JsonObject CheckedScale(JsonObject scale)
    {
        Validation.CheckTypes(ScaleType, scale, "autoscaling");
        return scale;
    }

    /// <summary>Namespaces Kubernetes refuses to delete.</summary>
    static readonly string[] Undeletable = ["default", "kube-system", "kube-public", "kube-node-lease"];

    async Task DeleteAsync(HttpContext ctx, RequestInfo ri)
    {
        if (ri.Resource.Kind == "Namespace" && Undeletable.Contains(ri.Name))
            throw new ApiException(403, "Forbidden", $"namespaces \"{ri.Name}\" is forbidden: this namespace may not be deleted");
        var options = await DeleteOptionsFromAsync(ctx);
        WarnOfOrphaning(ctx, ri.Resource, options);
        var (obj, deleted) = await store.DeleteAsync(ri.Resource, ri.Namespace, ri.Name!, options, ctx.RequestAborted);
        // As upstream: 202 only when the object stays and the client asked for orphanDependents=false (old clients expect 200).
        await HttpIo.WriteAsync(ctx, !deleted && options.OrphanDependents == false ? 202 : 200, obj);
    }

    async Task DeleteCollectionAsync(HttpContext ctx, RequestInfo ri)
    {
        var options = await DeleteOptionsFromAsync(ctx);
        WarnOfOrphaning(ctx, ri.Resource, options);
        var list = ListOptionsFrom(ctx, ri.Resource, null) with { Limit = 0, Continue = null };
        var page = await store.ListAsync(ri.Resource, ri.Namespace, list, ctx.RequestAborted);
        var items = new JsonArray();
        foreach (var item in page.Items)
        {
            if (ri.Resource.Kind == "Namespace" && Undeletable.Contains(Meta.Name(item))) continue;
            try
            {
                var (obj, _) = await store.DeleteAsync(ri.Resource, Meta.Namespace(item), Meta.Name(item)!, options with { ResourceVersion = null }, ctx.RequestAborted);
                items.Add((JsonNode)obj);
            }
            catch (ApiException e) when (e.Code == 404)
            {
            }
        }
        await HttpIo.WriteAsync(ctx, 200, new JsonObject
        {
            ["kind"] = ri.Resource.ListKind,
            ["apiVersion"] = ri.Resource.ApiVersion,
            ["metadata"] = new JsonObject { ["resourceVersion"] = page.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["items"] = items,
        });
    }

    /// <summary>
    /// DeleteOptions from the body, or (only when there is none, as upstream) from the query. An unknown policy, or a
    /// policy together with orphanDependents, is 422 as upstream validates them.
    /// </summary>
    /// <summary>Upstream's warning when a Job is deleted without a policy (its pods are orphaned).</summary>
    static void WarnOfOrphaning(HttpContext ctx, ApiResource r, DeleteOptions options)
    {
        if (DeletePropagation.OrphansByDefault(r) && DeletePropagation.Unspecified(options))
            FieldChecks.Warn(ctx, DeletePropagation.JobOrphanWarning);
    }

    static async Task<DeleteOptions> DeleteOptionsFromAsync(HttpContext ctx)
    {
        var raw = await HttpIo.ReadBodyAsync(ctx);
        JsonObject body;
        if (raw.Length > 0)
        {
            body = ctx.Request.ContentType?.StartsWith("application/vnd.kubernetes.protobuf", StringComparison.Ordinal) == true
                ? Protobuf.ProtobufDecoder.Decode(raw)
                : Meta.ParseObject(raw, "DeleteOptions");
            Validation.CheckTypes(DeleteOptionsType, body, "");
        }
        else body = DeleteOptionsFromQuery(ctx.Request.Query);
        var policy = body["propagationPolicy"]?.GetValue<string>();
        var orphan = body["orphanDependents"]?.GetValue<bool>();
        if (orphan is not null && policy is not null)
            throw InvalidDeleteOptions("FieldValueInvalid", $"Invalid value: \"{policy}\": orphanDependents and deletionPropagation cannot be both set");
        if (policy is not (null or DeletePropagation.Orphan or DeletePropagation.Background or DeletePropagation.Foreground))
            throw InvalidDeleteOptions("FieldValueNotSupported", $"Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
        var dryRun = body["dryRun"] is JsonArray d ? d.Select(v => v?.GetValue<string>() ?? "").ToList() : null;
        return new DeleteOptions(body["preconditions"]?["uid"]?.GetValue<string>(), body["preconditions"]?["resourceVersion"]?.GetValue<string>(), policy)
        {
            DryRun = WriteOptions.From(ctx, "DeleteOptions", bodyDryRun: dryRun).DryRun,
            OrphanDependents = orphan,
            GracePeriodSeconds = body["gracePeriodSeconds"] is not JsonValue g ? null : g.TryGetValue<long>(out var l) ? l : g.TryGetValue<int>(out var i) ? i : null,
        };
    }

    static JsonObject DeleteOptionsFromQuery(IQueryCollection q)
    {
        var body = new JsonObject();
        if (q["propagationPolicy"].FirstOrDefault() is { } policy) body["propagationPolicy"] = policy;
        if (q["orphanDependents"].FirstOrDefault() is { } orphan)
            body["orphanDependents"] = bool.TryParse(orphan, out var o) ? o : throw ApiException.BadRequest($"orphanDependents: invalid value \"{orphan}\": not a boolean");
        if (q["gracePeriodSeconds"].FirstOrDefault() is { } grace)
            body["gracePeriodSeconds"] = long.TryParse(grace, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var g)
                ? g : throw ApiException.BadRequest($"gracePeriodSeconds: invalid value \"{grace}\": not an integer");
        return body;
    }

    static ApiException InvalidDeleteOptions(string reason, string message) =>
        WriteOptions.Invalid("DeleteOptions", "propagationPolicy", reason, message);
}
