// API errors and the metav1 Status objects they become on the wire.
using System.Text.Json.Nodes;

namespace Appliance.ClusterRuntime.Api;

/// <summary>An error the API returns as a <c>Status</c> object with an HTTP code and a reason.</summary>
public sealed class ApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    /// <summary>HTTP status code.</summary>
    public int Code { get; } = code;
    /// <summary>Machine-readable reason (NotFound, AlreadyExists, Conflict, ...).</summary>
    public string Reason { get; } = reason;
    /// <summary>Optional <c>details</c> (name, group, kind, causes).</summary>
    public JsonObject? Details { get; } = details;

    /// <summary>The Status object for this error.</summary>
    public JsonObject ToStatus() => Status.Failure(Code, Reason, Message, Details?.DeepClone().AsObject());

    static JsonObject Detail(ApiResource r, string name) => new()
    {
        ["name"] = name,
        ["group"] = r.Group,
        ["kind"] = r.Plural,
    };

    /// <summary>404: the object does not exist.</summary>
    public static ApiException NotFound(ApiResource r, string name) =>
        new(404, "NotFound", $"{r.GroupResource} \"{name}\" not found", Detail(r, name));

    /// <summary>409: the object exists.</summary>
    public static ApiException AlreadyExists(ApiResource r, string name) =>
        new(409, "AlreadyExists", $"{r.GroupResource} \"{name}\" already exists", Detail(r, name));

    /// <summary>409: the resourceVersion given is not the current one.</summary>
    public static ApiException Conflict(ApiResource r, string name, string why) =>
        new(409, "Conflict", $"Operation cannot be fulfilled on {r.GroupResource} \"{name}\": {why}", Detail(r, name));

    /// <summary>422: the object fails validation.</summary>
    public static ApiException Invalid(ApiResource r, string name, string field, string message) =>
        Invalid(r.Group, r.Kind, name, [(field, message)]);

    /// <summary>422: an object of <paramref name="kind"/> fails validation in each of <paramref name="causes"/>, worded as upstream aggregates them.</summary>
    public static ApiException Invalid(string group, string kind, string name, IReadOnlyList<(string Field, string Message)> causes)
    {
        var details = new JsonObject
        {
            ["name"] = name,
            ["group"] = group,
            ["kind"] = kind,
            ["causes"] = new JsonArray(causes.Select(c => (JsonNode)new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = c.Message, ["field"] = c.Field }).ToArray()),
        };
        var text = causes.Count == 1
            ? $"{causes[0].Field}: {causes[0].Message}"
            : $"[{string.Join(", ", causes.Select(c => $"{c.Field}: {c.Message}"))}]";
        return new(422, "Invalid", $"{kind} \"{name}\" is invalid: {text}", details);
    }

    /// <summary>504: a resourceVersion newer than the datastore's, as upstream's watch cache reports it.</summary>
    public static ApiException TooLargeResourceVersion(long requested, long current) =>
        new(504, "Timeout", $"Too large resource version: {requested}, current: {current}", new JsonObject
        {
            ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ResourceVersionTooLarge", ["message"] = "Too large resource version" }),
            ["retryAfterSeconds"] = 1,
        });

    /// <summary>400: malformed request.</summary>
    public static ApiException BadRequest(string message) => new(400, "BadRequest", message);

    /// <summary>410: the revision asked for has been compacted.</summary>
    public static ApiException Gone(string message) => new(410, "Expired", message);

    /// <summary>507: the datastore has no space left to write; the write may be retried once space returns.</summary>
    public static ApiException InsufficientStorage(string message) => new(507, "InsufficientStorage", message);

    /// <summary>405: the verb is not served here.</summary>
    public static ApiException MethodNotAllowed(string message) => new(405, "MethodNotAllowed", message);
}

/// <summary>Builds <c>Status</c> objects.</summary>
public static class Status
{
    /// <summary>A failure Status.</summary>
    public static JsonObject Failure(int code, string reason, string message, JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (details is not null) status["details"] = details;
        status["code"] = code;
        return status;
    }

    /// <summary>A success Status (used by delete of a collection and by deletes that completed).</summary>
    public static JsonObject Success(JsonObject? details = null)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
        };
        if (details is not null) status["details"] = details;
        return status;
    }
}
