// The scalar types a profile field can have: how each is parsed, named in messages, and rendered back.
using System.Net;
using Appliance.ImageBuilder.Boards;
using Appliance.ImageBuilder.Profiles.Model;
using Appliance.ImageBuilder.Profiles.Validation;

namespace Appliance.ImageBuilder.Profiles.Binding;

/// <summary>Parsing and naming of scalar field types.</summary>
internal static class ScalarTypes
{
    public static bool IsScalar(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t == typeof(string) || t == typeof(bool) || t.IsEnum || t == typeof(Board) || t == typeof(ByteSize) || t == typeof(Cidr)
            || t == typeof(InterfaceAddress) || t == typeof(IPAddress) || t == typeof(Uri) || t == typeof(ProfilePath);
    }

    /// <summary>The names of the boards, as profiles spell them.</summary>
    public static IReadOnlyList<string> BoardNames { get; } = Board.All.Select(b => b.Name).ToList();

    /// <summary>What a value of type <paramref name="t"/> looks like, for "expected X, got Y".</summary>
    public static string Expected(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(bool)) return "true or false";
        if (t.IsEnum) return "one of " + string.Join(", ", EnumNames.Of(t));
        if (t == typeof(Board)) return "one of " + string.Join(", ", BoardNames);
        if (t == typeof(ByteSize)) return "a size such as 8GiB";
        if (t == typeof(Cidr)) return "a CIDR range such as 10.42.0.0/16";
        if (t == typeof(InterfaceAddress)) return "an address with prefix such as 192.168.1.10/24";
        if (t == typeof(IPAddress)) return "an IP address";
        if (t == typeof(Uri)) return "an https URL";
        if (t == typeof(ProfilePath)) return "a file path";
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>)) return "a list";
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>)) return "a mapping of names to strings";
        if (t == typeof(string)) return "a string";
        return "a mapping";
    }

    /// <summary>Converts resolved text to <paramref name="t"/>; on failure returns false with a message.</summary>
    public static bool TryConvert(Type t, string text, ProfileDirectory where, out object? value, out string? error)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        value = null;
        error = null;
        if (t == typeof(string))
        {
            value = text;
            return true;
        }
        if (t == typeof(bool))
        {
            if (text is "true" or "True" or "TRUE") value = true;
            else if (text is "false" or "False" or "FALSE") value = false;
            else error = $"expected true or false, got '{text}'";
            return value is not null;
        }
        if (t.IsEnum)
        {
            value = EnumNames.Parse(t, text);
            if (value is null)
            {
                var names = EnumNames.Of(t);
                error = $"unknown value '{text}'; expected one of {string.Join(", ", names)}{Suggest.Hint(text, names)}";
            }
            return value is not null;
        }
        if (t == typeof(Board))
        {
            value = Board.Find(text);
            if (value is null)
                error = $"unknown value '{text}'; expected one of {string.Join(", ", BoardNames)}{Suggest.Hint(text, BoardNames)}";
            return value is not null;
        }
        if (t == typeof(ByteSize))
        {
            var ok = ByteSize.TryParse(text, out var size, out error);
            value = ok ? size : null;
            return ok;
        }
        if (t == typeof(Cidr))
        {
            var ok = Cidr.TryParse(text, out var cidr, out error);
            value = cidr;
            return ok;
        }
        if (t == typeof(InterfaceAddress))
        {
            var ok = InterfaceAddress.TryParse(text, out var a, out error);
            value = a;
            return ok;
        }
        if (t == typeof(IPAddress))
        {
            if (IpText.TryParseAddress(text, out var ip)) value = ip;
            else error = $"'{text}' is not an IP address";
            return value is not null;
        }
        if (t == typeof(Uri))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.Host.Length == 0)
                error = $"'{text}' is not an https URL such as https://10.0.0.1:6443";
            else if (uri.UserInfo.Length > 0)
                error = "the URL must not carry a user name or password; the join token authenticates";
            else
                value = uri;
            return value is not null;
        }
        if (t == typeof(ProfilePath))
        {
            if (text.Trim().Length == 0) error = "expected a file path, got an empty string";
            else value = new ProfilePath(text, where.Directory);
            return value is not null;
        }
        throw new InvalidOperationException($"no scalar conversion for {t}");
    }

    /// <summary>The value as it is rendered: a string, or a bool.</summary>
    public static object Render(object value) => value switch
    {
        bool b => b,
        Enum e => EnumNames.NameOf(e),
        Board b => b.Name,
        Uri u => u.OriginalString,
        _ => value.ToString() ?? "",
    };
}

/// <summary>The directory of the profile file a scalar came from (relative paths resolve against it).</summary>
internal readonly record struct ProfileDirectory(string Directory);
