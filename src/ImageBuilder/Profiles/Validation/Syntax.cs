// Small syntax checks: RFC 1123 names, Kubernetes label keys, image references, versions, user names, SSH keys.
using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Appliance.ImageBuilder.Profiles.Validation;

/// <summary>Pure syntax predicates used by the validator.</summary>
public static partial class Syntax
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex Label();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"^(?:(?<domain>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?)/)?"
        + @"(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
        + @"(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$")]
    private static partial Regex ImageRef();

    [GeneratedRegex(@"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")]
    private static partial Regex SemVer();

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$")]
    private static partial Regex UserName();

    [GeneratedRegex(@"^/dev/(?:[a-z][a-z0-9]*|disk/by-(?:id|path)/[A-Za-z0-9][A-Za-z0-9._:+@-]*)$")]
    private static partial Regex DiskDevice();

    /// <summary>An RFC 1123 label: lowercase letters, digits and '-', 1 to 63 characters, no '-' at either end.</summary>
    public static bool IsRfc1123Label(string s) => Label().IsMatch(s);

    /// <summary>An RFC 1123 hostname (DNS subdomain): dot-separated labels, at most 253 characters.</summary>
    public static bool IsRfc1123Hostname(string s) =>
        s.Length is > 0 and <= 253 && s.Split('.').All(IsRfc1123Label);

    /// <summary>A Kubernetes label key: optional DNS-subdomain prefix and '/', then a name of at most 63 characters.</summary>
    public static bool IsLabelKey(string s)
    {
        var slash = s.LastIndexOf('/');
        if (slash >= 0 && !IsRfc1123Hostname(s[..slash])) return false;
        return LabelName().IsMatch(s[(slash + 1)..]);
    }

    /// <summary>A Kubernetes label value: empty, or like a label name.</summary>
    public static bool IsLabelValue(string s) => s.Length == 0 || LabelName().IsMatch(s);

    /// <summary>An image reference with a tag or a digest (a content-store reference never means "latest").</summary>
    public static bool IsImageReference(string s)
    {
        var m = ImageRef().Match(s);
        return m.Success && (m.Groups["tag"].Success || m.Groups["digest"].Success);
    }

    /// <summary>A semantic version, with an optional leading 'v'.</summary>
    public static bool IsSemVer(string s) => SemVer().IsMatch(s);

    /// <summary>
    /// A disk's device path: <c>/dev/NAME</c> (a kernel name such as sda, vda, nvme0n1, mmcblk0) or a udev link
    /// <c>/dev/disk/by-id/NAME</c> or <c>/dev/disk/by-path/NAME</c> (no further '/', no spaces).
    /// </summary>
    public static bool IsDiskDevice(string s) => DiskDevice().IsMatch(s);

    /// <summary>A portable Linux user name.</summary>
    public static bool IsUserName(string s) => UserName().IsMatch(s);

    private static readonly string[] SshKeyTypes =
    [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ];

    /// <summary>
    /// An OpenSSH public key line: "TYPE BASE64 [comment]" whose decoded blob starts with the same type
    /// name (RFC 4253 §6.6: string "type", length-prefixed). Returns null when valid, else why not.
    /// </summary>
    public static string? SshKeyProblem(string line)
    {
        var parts = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
            return "not an SSH public key; expected 'TYPE BASE64-KEY [comment]'";
        if (!SshKeyTypes.Contains(parts[0]))
            return $"unknown SSH key type '{parts[0]}'; expected one of {string.Join(", ", SshKeyTypes)}";
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            return "the key data is not valid base64";
        }
        if (blob.Length < 4) return "the key data is truncated";
        var n = BinaryPrimitives.ReadUInt32BigEndian(blob);
        if (n > blob.Length - 4 || Encoding.ASCII.GetString(blob, 4, (int)n) != parts[0])
            return $"the key data does not hold a {parts[0]} key";
        return null;
    }
}
