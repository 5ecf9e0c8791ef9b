// Reads the installed packages from a dpkg status file (deb-control(5) stanzas, deb-status(5) fields).
using System.Text;

namespace Appliance.ImageBuilder.Signing.Sbom;

/// <summary>One installed Debian package.</summary>
public sealed record DebianPackage(string Name, string Version, string Architecture);

/// <summary>Parser for <c>/var/lib/dpkg/status</c>.</summary>
public static class DpkgStatus
{
    /// <summary>Reads the packages whose state is "installed" from the status file at <paramref name="path"/>.</summary>
    public static IReadOnlyList<DebianPackage> ReadInstalled(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: dpkg status file not found", path);
        using var reader = new StreamReader(path, Encoding.UTF8);
        return ParseInstalled(reader, path);
    }

    /// <summary>
    /// Parses stanzas and keeps those whose <c>Status</c> is "&lt;want&gt; ok installed" (half-installed,
    /// config-files and not-installed entries are not in the image's file system as packages).
    /// </summary>
    public static IReadOnlyList<DebianPackage> ParseInstalled(TextReader reader, string source)
    {
        var result = new List<DebianPackage>();
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int lineNo = 0, stanzaLine = 0;
        string? lastField = null;

        void EndStanza()
        {
            if (fields.Count == 0)
                return;
            string Need(string name) => fields.TryGetValue(name, out var v) && v.Length > 0
                ? v : throw new InvalidDataException($"{source}:{stanzaLine}: package stanza has no '{name}' field");
            var name = Need("Package");
            var status = Need("Status").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (status.Length != 3)
                throw new InvalidDataException($"{source}:{stanzaLine}: package '{name}': Status '{fields["Status"]}' is not 'want flag state'");
            if (status[2] == "installed")
                result.Add(new DebianPackage(name, Need("Version"), Need("Architecture")));
            fields.Clear();
            lastField = null;
        }

        for (string? line; (line = reader.ReadLine()) != null;)
        {
            lineNo++;
            if (line.Length == 0 || line.All(char.IsWhiteSpace))
            {
                EndStanza();
                continue;
            }
            if (line[0] is ' ' or '\t')
            {
                if (lastField == null)
                    throw new InvalidDataException($"{source}:{lineNo}:1: continuation line outside a field");
                continue; // continuation lines only matter for multi-line fields we do not read
            }
            var colon = line.IndexOf(':');
            if (colon <= 0)
                throw new InvalidDataException($"{source}:{lineNo}:1: expected 'Field: value', found '{Truncate(line)}'");
            if (fields.Count == 0)
                stanzaLine = lineNo;
            lastField = line[..colon];
            fields[lastField] = line[(colon + 1)..].Trim();
        }
        EndStanza();
        return result;
    }

    private static string Truncate(string s) => s.Length > 60 ? s[..60] + "..." : s;
}
