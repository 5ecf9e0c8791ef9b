// Parses YAML text into a YNode tree with marks, collecting syntax, tab and duplicate-key problems.
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Appliance.ImageBuilder.Profiles.Yaml;

/// <summary>Reads one YAML document into a <see cref="YNode"/> tree, reporting every problem it can see.</summary>
public static class YamlTreeReader
{
    /// <summary>
    /// Parses <paramref name="text"/>. Returns null when the text cannot be parsed (the problems say why).
    /// <paramref name="file"/> is the name used in marks.
    /// </summary>
    public static YNode? Read(string text, string file, List<ProfileProblem> problems)
    {
        // YAML forbids tabs in indentation. The parser's own message for this points at the wrong
        // place, so find them first and, when they exist, let them explain a parse failure.
        var tabs = FindIndentationTabs(text, file);
        problems.AddRange(tabs);
        var parser = new Parser(new StringReader(text));
        try
        {
            return new Builder(parser, file, problems).ReadStream();
        }
        catch (YamlException ex)
        {
            if (tabs.Count == 0)
                problems.Add(new ProfileProblem(file, (int)ex.Start.Line, (int)ex.Start.Column, ProfileProblem.YamlPath,
                    "YAML syntax error: " + Sentence(ex.Message)));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16's scanner throws this instead of a YamlException on some unterminated
            // flow collections; the last event it produced is the best place we know.
            var at = parser.Current?.End ?? Mark.Empty;
            if (tabs.Count == 0)
                problems.Add(new ProfileProblem(file, Math.Max(1, (int)at.Line), Math.Max(1, (int)at.Column), ProfileProblem.YamlPath,
                    "YAML syntax error: unreadable YAML after this point (is a '[', '{' or quote left open?)"));
            return null;
        }
    }

    private static string Sentence(string message)
    {
        var m = message.Trim().TrimEnd('.');
        return m.Length > 0 ? char.ToLowerInvariant(m[0]) + m[1..] : "unreadable YAML";
    }

    private static List<ProfileProblem> FindIndentationTabs(string text, string file)
    {
        var found = new List<ProfileProblem>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            for (int c = 0; c < line.Length && (line[c] == ' ' || line[c] == '\t'); c++)
            {
                if (line[c] != '\t') continue;
                if (line.Trim().Length == 0) break; // whitespace-only lines carry no indentation
                found.Add(new ProfileProblem(file, i + 1, c + 1, ProfileProblem.YamlPath,
                    "tab character in indentation; YAML indentation must use spaces"));
                break;
            }
        }
        return found;
    }

    private sealed class Builder(IParser parser, string file, List<ProfileProblem> problems)
    {
        private readonly Dictionary<string, YNode> _anchors = new(StringComparer.Ordinal);

        private SourceMark MarkOf(ParsingEvent e) => new(file, (int)e.Start.Line, (int)e.Start.Column);

        public YNode? ReadStream()
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                problems.Add(new ProfileProblem(file, 1, 1, ProfileProblem.YamlPath, "no YAML content (the file is empty or only comments); expected a SiteProfile mapping"));
                return null;
            }
            parser.Consume<DocumentStart>();
            var root = ReadNode("");
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var next))
                problems.Add(ProfileProblem.At(MarkOf(next), ProfileProblem.YamlPath,
                    "more than one YAML document; a profile file holds exactly one"));
            return root;
        }

        private YNode ReadNode(string path)
        {
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (_anchors.TryGetValue(alias.Value.Value, out var target))
                    return target;
                throw new SemanticErrorException(alias.Start, alias.End, $"Alias *{alias.Value} refers to no anchor.");
            }
            if (parser.TryConsume<Scalar>(out var scalar))
                return Remember(scalar, new YScalar(MarkOf(scalar), scalar.Value, scalar.Style == ScalarStyle.Plain));
            if (parser.TryConsume<SequenceStart>(out var seqStart))
            {
                var items = new List<YNode>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                    items.Add(ReadNode($"{path}[{items.Count}]"));
                return Remember(seqStart, new YSequence(MarkOf(seqStart), items));
            }
            var mapStart = parser.Consume<MappingStart>();
            var entries = new List<KeyValuePair<YScalar, YNode>>();
            var seen = new Dictionary<string, YScalar>(StringComparer.Ordinal);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyNode = ReadNode(path);
                var keyPath = keyNode is YScalar k ? Paths.Child(path, k.Value) : path;
                var value = ReadNode(keyPath);
                if (keyNode is not YScalar key)
                {
                    problems.Add(ProfileProblem.At(keyNode.Mark, Paths.OrRoot(path), $"a mapping key must be a plain name, not {keyNode.KindName}"));
                    continue;
                }
                if (seen.TryGetValue(key.Value, out var first))
                {
                    problems.Add(ProfileProblem.At(key.Mark, keyPath,
                        $"duplicate key '{key.Value}' (first defined at line {first.Mark.Line}, column {first.Mark.Column})"));
                    continue;
                }
                seen[key.Value] = key;
                entries.Add(new(key, value));
            }
            return Remember(mapStart, new YMapping(MarkOf(mapStart), entries));
        }

        private YNode Remember(NodeEvent e, YNode node)
        {
            if (!e.Anchor.IsEmpty)
                _anchors[e.Anchor.Value] = node;
            return node;
        }
    }
}
