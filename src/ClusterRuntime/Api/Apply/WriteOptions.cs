// The query options every write takes: dryRun, fieldValidation, fieldManager and force, checked as upstream validates them.
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Appliance.ClusterRuntime.Api.Apply;

/// <summary>What a request asks of unknown and duplicate fields in its body.</summary>
public enum FieldValidation
{
    /// <summary>Drop them silently.</summary>
    Ignore,
    /// <summary>Drop them and say so in one <c>Warning</c> header each (the server's default, as upstream's).</summary>
    Warn,
    /// <summary>Refuse the request with 400.</summary>
    Strict,
}

/// <summary>The options of one write request.</summary>
/// <param name="DryRun">dryRun=All: everything runs, nothing is stored.</param>
/// <param name="Validation">fieldValidation.</param>
/// <param name="Manager">fieldManager, or the User-Agent's product name as upstream takes it (<c>kubectl/v1.32.0 (...)</c> → <c>kubectl</c>).</param>
/// <param name="Force">force (apply only): take over conflicting fields.</param>
public sealed record WriteOptions(bool DryRun, FieldValidation Validation, string Manager, bool Force)
{
    /// <summary>Upstream's limit on a manager's name.</summary>
    const int MaxManagerLength = 128;

    /// <summary>
    /// Reads the options of a request whose options type is <paramref name="kind"/> (CreateOptions, UpdateOptions,
    /// PatchOptions, DeleteOptions); 422 as upstream words it for values it does not support.
    /// </summary>
    public static WriteOptions From(HttpContext ctx, string kind, bool apply = false, IEnumerable<string>? bodyDryRun = null)
    {
        var q = ctx.Request.Query;
        var dry = q["dryRun"].Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).Concat(bodyDryRun ?? []).ToList();
        if (dry.Any(v => v != "All"))
            throw Invalid(kind, "dryRun", "FieldValueNotSupported", $"Unsupported value: []string{{{string.Join(", ", dry.Select(v => $"\"{v}\""))}}}: supported values: \"All\"");

        var validationText = (string?)q["fieldValidation"];
        var validation = validationText switch
        {
            null or "" => FieldValidation.Warn,
            "Strict" => FieldValidation.Strict,
            "Warn" => FieldValidation.Warn,
            "Ignore" => FieldValidation.Ignore,
            _ => throw Invalid(kind, "fieldValidation", "FieldValueNotSupported",
                $"Unsupported value: \"{validationText}\": supported values: \"Ignore\", \"Strict\", \"Warn\""),
        };

        var manager = (string?)q["fieldManager"];
        if (string.IsNullOrEmpty(manager))
        {
            if (apply) throw Invalid(kind, "fieldManager", "FieldValueRequired", "Required value: is required for apply patch");
            manager = ctx.Request.Headers.UserAgent.ToString().Split('/')[0];
        }
        else if (manager.Length > MaxManagerLength)
            throw Invalid(kind, "fieldManager", "FieldValueTooLong", $"Too long: may not be more than {MaxManagerLength} bytes");
        else if (manager.Any(c => c < ' ' || c == 0x7f))
            throw Invalid(kind, "fieldManager", "FieldValueInvalid", $"Invalid value: \"{manager}\": must only contain printable characters");

        var forceText = (string?)q["force"];
        bool force = false;
        if (!string.IsNullOrEmpty(forceText))
        {
            if (!bool.TryParse(forceText, out force)) throw ApiException.BadRequest($"force: invalid value \"{forceText}\": not a boolean");
            if (!apply) throw Invalid(kind, "force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch");
        }
        return new WriteOptions(dry.Count > 0, validation, manager, force);
    }

    /// <summary>422 for one field of an options object (<c>PatchOptions.meta.k8s.io "" is invalid: ...</c>), as upstream answers.</summary>
    public static ApiException Invalid(string kind, string field, string reason, string message) =>
        new(422, "Invalid", $"{kind}.meta.k8s.io \"\" is invalid: {field}: {message}", new JsonObject
        {
            ["group"] = "meta.k8s.io",
            ["kind"] = kind,
            ["causes"] = new JsonArray(new JsonObject { ["reason"] = reason, ["message"] = message, ["field"] = field }),
        });
}
