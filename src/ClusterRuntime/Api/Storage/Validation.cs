// Type, name and label validation (the type table, Kubernetes DNS-1123 rules), reported as 422 Invalid with the field path.
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Schema;

namespace Appliance.ClusterRuntime.Api.Storage;

/// <summary>Validates object metadata.</summary>
public static class Validation
{
    /// <summary>Resources whose names must be DNS-1123 labels rather than subdomains.</summary>
    static readonly HashSet<string> LabelNamed = ["Namespace", "Service"];

    // RBAC objects are named by path segment (upstream's ValidateRBACName), so "system:node" is a valid name.
    static readonly HashSet<string> PathSegmentNamed = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

    static string? PathSegment(string name) =>
        name is "." or ".." ? $"may not be '{name}'" : name.Contains('/') ? "may not contain '/'" : name.Contains('%') ? "may not contain '%'" : null;

    /// <summary>The top-level fields a status write takes from the body (the rest comes from the stored object).</summary>
    static readonly string[] StatusWriteFields = ["kind", "apiVersion", "metadata", "status"];

    /// <summary>
    /// Checks every field the type table declares for <paramref name="r"/> (with <paramref name="statusOnly"/>, those a
    /// status write reads); throws 422 naming each field of the wrong type. Runs before anything reads the object.
    /// </summary>
    /// <remarks>A custom resource is pruned, defaulted and validated by its CRD's structural schema instead.</remarks>
    public static void CheckTypes(ApiResource r, JsonObject obj, bool statusOnly = false)
    {
        if (r.Custom is { } custom) custom.Admit(r, obj);
        else CheckTypes(TypeCatalog.For(r), obj, r.Group, statusOnly ? StatusWriteFields : null);
    }

    /// <summary>Checks <paramref name="obj"/> against <paramref name="type"/> of API group <paramref name="group"/> (also request bodies such as DeleteOptions or Scale).</summary>
    public static void CheckTypes(TypeDef type, JsonObject obj, string group, IReadOnlyCollection<string>? only = null)
    {
        var problems = SchemaValidator.Check(type, obj, only);
        if (problems.Count == 0) return;
        throw ApiException.Invalid(group, type.Name, Meta.Name(obj) ?? "", problems.Select(p => (p.Field, p.Message)).ToList());
    }

    /// <summary>Checks name, labels, annotations and the GC finalizers; throws 422 on the first problem.</summary>
    public static void Check(ApiResource r, JsonObject obj)
    {
        var name = Meta.Name(obj) ?? "";
        if (name.Length == 0) throw ApiException.Invalid(r, name, "metadata.name", "Required value: name or generateName is required");
        var labelOnly = r.Custom is null && LabelNamed.Contains(r.Kind);
        var problem = r.Custom is null && PathSegmentNamed.Contains(r.Kind) ? PathSegment(name) : labelOnly ? Dns1123Label(name) : Dns1123Subdomain(name);
        if (problem is not null) throw ApiException.Invalid(r, name, "metadata.name", $"Invalid value: \"{name}\": {problem}");
        if (Meta.Of(obj)["labels"] is JsonObject labels)
        {
            foreach (var (key, value) in labels)
            {
                var kp = QualifiedName(key);
                if (kp is not null) throw ApiException.Invalid(r, name, "metadata.labels", $"Invalid value: \"{key}\": {kp}");
                if (value is not JsonValue v || !v.TryGetValue<string>(out var s))
                    throw ApiException.Invalid(r, name, $"metadata.labels.{key}", "Invalid value: label values must be strings");
                var vp = LabelValue(s);
                if (vp is not null) throw ApiException.Invalid(r, name, $"metadata.labels", $"Invalid value: \"{s}\": {vp}");
            }
        }
        if (Meta.Of(obj)["annotations"] is JsonObject annotations)
        {
            foreach (var (key, value) in annotations)
            {
                var kp = QualifiedName(key);
                if (kp is not null) throw ApiException.Invalid(r, name, "metadata.annotations", $"Invalid value: \"{key}\": {kp}");
                if (value is not JsonValue v || !v.TryGetValue<string>(out _))
                    throw ApiException.Invalid(r, name, $"metadata.annotations.{key}", "Invalid value: annotation values must be strings");
            }
        }
        var finalizers = Meta.Finalizers(obj);
        if (finalizers.Contains(DeletePropagation.OrphanFinalizer) && finalizers.Contains(DeletePropagation.ForegroundFinalizer))
            throw ApiException.Invalid(r, name, "metadata.finalizers",
                $"Invalid value: []string{{{string.Join(", ", finalizers.Select(f => $"\"{f}\""))}}}: finalizer orphan and foregroundDeletion cannot be both set");
        if (r.Custom is not null) return;
        if (r.Group == "batch") BatchValidation.Check(r, obj);
        if (r.Kind == "NetworkPolicy") NetworkPolicyValidation.Check(r, obj);
        if (r == CustomResources.CustomResourceController.Crds) CustomResources.CustomResourceDefinitionValidation.Check(r, obj);
    }

    /// <summary>Null when <paramref name="s"/> is a DNS-1123 label, else why not.</summary>
    public static string? Dns1123Label(string s)
    {
        if (s.Length > 63) return "must be no more than 63 characters";
        if (s.Length == 0 || !IsLowerAlnum(s[0]) || !IsLowerAlnum(s[^1]) || s.Any(c => !IsLowerAlnum(c) && c != '-'))
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
        return null;
    }

    /// <summary>Null when <paramref name="s"/> is a DNS-1123 subdomain, else why not.</summary>
    public static string? Dns1123Subdomain(string s)
    {
        if (s.Length > 253) return "must be no more than 253 characters";
        foreach (var part in s.Split('.'))
            if (Dns1123Label(part) is not null)
                return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
        return null;
    }

    /// <summary>Null when <paramref name="key"/> is a label or taint key (optional DNS prefix, then a name), else why not.</summary>
    internal static string? QualifiedName(string key)
    {
        var slash = key.IndexOf('/');
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        if (slash >= 0 && Dns1123Subdomain(key[..slash]) is { } p) return "prefix part " + p;
        if (name.Length == 0 || name.Length > 63) return "name part must be 1 to 63 characters";
        if (!char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]) || name.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.')))
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
        return null;
    }

    /// <summary>Null when <paramref name="v"/> is a valid label value, else why not.</summary>
    internal static string? LabelValue(string v)
    {
        if (v.Length == 0) return null;
        if (v.Length > 63) return "must be no more than 63 characters";
        if (!char.IsAsciiLetterOrDigit(v[0]) || !char.IsAsciiLetterOrDigit(v[^1]) || v.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.')))
            return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
        return null;
    }

    static bool IsLowerAlnum(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';
}
